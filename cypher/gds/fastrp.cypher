// Purpose: FastRP node embeddings of a projected graph, streamed as (node id, vector) rows.
// Params:
//   $graphName  STRING  a graph projected by cypher/gds/project.cypher
//   $config     MAP     gds.fastRP configuration (embeddingDimension, iterationWeights, normalizationStrength,
//                       nodeSelfInfluence, relationshipWeightProperty, randomSeed, concurrency)
// Example:
//   :param {graphName: 'reelgraph-example', config: {embeddingDimension: 8, randomSeed: 42}}
CALL gds.fastRP.stream($graphName, $config) YIELD nodeId, embedding
RETURN nodeId, embedding
