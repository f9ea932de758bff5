// Purpose: drop a vector index (of the slot being rewritten, when the dimension changes).
// Params:
//   $name  STRING  index name
// Example:
//   :param name => 'movie_embedding_b'
DROP INDEX $name IF EXISTS
