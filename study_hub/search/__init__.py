"""Search: query parsing, the keyword and meaning rankers over a served index generation, their fusion,
and ``SearchService`` (query text in, hydrated and highlighted hits out)."""
