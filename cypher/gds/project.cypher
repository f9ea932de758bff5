// Purpose: project a user-movie rating graph given as parallel lists into the GDS in-memory catalog (undirected).
//   Node ids are plain integers (users 0..U-1, movies U..U+I-1), so exactly the pairs of a training split
//   are projected and held-out ratings never reach the embedding.
// Params:
//   $graphName  STRING         the catalog name (dropped by cypher/gds/drop.cypher)
//   $source     LIST<INTEGER>  user node ids
//   $target     LIST<INTEGER>  movie node ids
//   $weight     LIST<FLOAT>    the edge weight of each pair
// Example:
//   :param {graphName: 'reelgraph-example', source: [0, 0, 1], target: [2, 3, 2], weight: [1.0, 0.5, 1.0]}
UNWIND range(0, size($source) - 1) AS i
WITH gds.graph.project($graphName, $source[i], $target[i],
                       {relationshipProperties: {weight: toFloat($weight[i])}},
                       {undirectedRelationshipTypes: ['*']}) AS g
RETURN g.graphName AS graphName, g.nodeCount AS nodes, g.relationshipCount AS relationships
