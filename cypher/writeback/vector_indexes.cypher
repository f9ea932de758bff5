// Purpose: state and dimension of the named vector indexes.
// Params:
//   $names  LIST<STRING>  index names
// Example:
//   :param names => ['user_embedding', 'movie_embedding']
SHOW VECTOR INDEXES
YIELD name, state, populationPercent, labelsOrTypes, properties, options
WHERE name IN $names
RETURN name, state, populationPercent, labelsOrTypes[0] AS label, properties[0] AS property,
       options.indexConfig.`vector.dimensions` AS dimensions
