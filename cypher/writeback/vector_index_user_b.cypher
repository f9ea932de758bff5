// Purpose: cosine vector index user_embedding_b over :User(embeddingB) (embedding slot 'b'); populated asynchronously.
// Params:
//   $dim  INTEGER  vector dimension
// Example:
//   :param dim => 64
CREATE VECTOR INDEX user_embedding_b IF NOT EXISTS
FOR (n:User)
ON n.embeddingB
OPTIONS {indexConfig: {`vector.dimensions`: $dim, `vector.similarity_function`: 'cosine'}}
