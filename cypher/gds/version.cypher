// Purpose: the OpenGDS / Graph Data Science version the server runs (fails if the plugin is not loaded).
// Params: none
// Example:
//   (no parameters)
RETURN gds.version() AS version
