// Purpose: store a feature value on each given genre (the PyG FeatureStore's put).
// Params:
//   $rows      LIST<MAP>  {id: genre name, x: the value} per genre (numbers, booleans, lists of them, or float32 bytes)
//   $property  STRING     the node property to set
// Example:
//   :param {property: 'features', rows: [{id: 'Comedy', x: [0.5, -1.0]}]}
UNWIND $rows AS row
MATCH (g:Genre {name: row.id})
SET g[$property] = row.x
RETURN count(g) AS written
