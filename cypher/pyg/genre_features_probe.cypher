// Purpose: which genres hold a node property, and one value of it (the PyG FeatureStore lists only attributes that exist and infers their dtype and width).
// Params:
//   $property  STRING  the node property
// Example:
//   :param {property: 'features'}
MATCH (g:Genre)
WHERE g[$property] IS NOT NULL
WITH collect(g) AS nodes
RETURN [n IN nodes | n.name] AS ids, nodes[0][$property] AS sample
