// Purpose: one node property of a batch of genres (the Neo4j-backed PyG FeatureStore reads a mini-batch's features).
// Params:
//   $names     LIST<STRING>  the genres of the batch
//   $property  STRING        the node property: a number, a boolean, a list of them, or float32 bytes
// Example:
//   :param {names: ['Comedy', 'Drama'], property: 'features'}
UNWIND $names AS name
MATCH (g:Genre {name: name})
RETURN collect(g.name) AS ids, collect(g[$property]) AS values
