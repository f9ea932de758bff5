// Purpose: remove a feature property from every User, Movie or Genre node (the PyG FeatureStore's remove).
// Params:
//   $label     STRING  'User', 'Movie' or 'Genre'
//   $property  STRING  the node property to remove
// Example:
//   :param {label: 'Movie', property: 'trainFeatures'}
MATCH (n)
WHERE $label IN labels(n) AND n[$property] IS NOT NULL
CALL (n) { REMOVE n[$property] } IN TRANSACTIONS OF 10000 ROWS
RETURN count(*) AS removed
