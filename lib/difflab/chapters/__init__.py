"""One module per chapter, named by its number: the chapter's experiments. A chapter module
imports the layers below, never another chapter."""
