"""The book's machinery: profiles, the catalogue of models (by role) and their trained versions,
the zoo's command line and plan, the papers' numbers, studies, plotting, glue and the build's
sample cache. Imports difflab.core and difflab.training."""
