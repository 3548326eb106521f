"""The book's machinery: profiles, the zoo of models, the papers' numbers, studies, plotting,
glue and the build's sample cache. Imports difflab.core and difflab.training.loop.loop."""
