// Package schema embeds the hosting relationship schema that hostaccess serves.
package schema

import _ "embed"

// Hosting is the SpiceDB schema of the hosting domain (hosting.zed).
//
//go:embed hosting.zed
var Hosting string

// FileName is the name under which the embedded schema is referenced by
// validation files (`schemaFile: ../schema/hosting.zed`).
const FileName = "hosting.zed"
