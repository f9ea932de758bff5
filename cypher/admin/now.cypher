// Purpose: the database's clock now (ISO-8601), e.g. when an export starts (engine refresh compares ratedAt to it).
// Params: none
// Example:
//   (no parameters)
RETURN toString(datetime()) AS now
