extension RuleCatalog {
    static let schemaRules: [Rule] = [
        Rule(
            "TFC0001", family: "schema", title: "YAML syntax error",
            explanation: "The environment file is not valid YAML. Nothing is validated or rendered until it parses."),
        Rule(
            "TFC0002", family: "schema", title: "wrong type",
            explanation: """
                A key holds a value of the wrong kind: a mapping where a scalar is expected, a list where a \
                mapping is expected, text where a number or boolean is expected.
                """),
        Rule(
            "TFC0003", family: "schema", title: "unknown key",
            explanation: """
                The key is not part of the environment file format. Typos are the usual cause: tfctl suggests the \
                nearest valid key. Unknown keys are errors rather than ignored so that a misspelt setting never \
                silently falls back to its default.
                """),
        Rule(
            "TFC0004", family: "schema", title: "missing required key",
            explanation: "A key without a default is absent after every `extends` overlay has been applied."),
        Rule(
            "TFC0005", family: "schema", title: "extends cycle",
            explanation: "An environment file extends itself, directly or through other files."),
        Rule(
            "TFC0006", family: "schema", title: "extended file not found",
            explanation: """
                The file named by `extends` cannot be read. Paths are relative to the file that names them.
                """),
        Rule(
            "TFC0007", family: "schema", title: "invalid value",
            explanation: """
                The value has the right type but is not one tfctl understands: an unknown choice, a malformed \
                duration (`3600s`, `60m`, `1h`), memory size (`512Mi`, `2Gi`) or CPU (`1`, `2`, `500m`).
                """),
        Rule(
            "TFC0008", family: "schema", title: "duplicate key",
            explanation: "A mapping names the same key twice; YAML would silently keep only one of them."),
        Rule(
            "TFC0009", family: "schema", title: "environment not found",
            explanation: """
                `--env NAME` is resolved as `Environments/NAME.yaml` in the working directory; `--env PATH` takes \
                any YAML file.
                """),
    ]

    static let projectRules: [Rule] = [
        Rule(
            "TFC0101", family: "project", title: "invalid project id",
            explanation: """
                Project ids are 6 to 30 characters: lowercase letters, digits and hyphens, starting with a letter \
                and not ending with a hyphen.
                """,
            source: "https://cloud.google.com/resource-manager/docs/creating-managing-projects"),
        Rule(
            "TFC0102", family: "project", title: "invalid topology name",
            explanation: """
                The topology name prefixes every derived resource name (`<name>-redis-<region>` must fit \
                Memorystore's 40 characters, `<name>-run` the 30 of a service account id). Use 1 to 12 lowercase \
                letters, digits and hyphens, starting with a letter.
                """),
        Rule(
            "TFC0103", family: "project", severity: .warning, title: "unknown region",
            explanation: """
                The region is not in tfctl's list of Cloud Run regions. A warning, not an error, because Google adds \
                regions faster than tools learn about them; check the spelling.
                """,
            source: "https://cloud.google.com/run/docs/locations"),
        Rule(
            "TFC0104", family: "project", title: "no regions or duplicate region",
            explanation: """
                A topology needs at least one region, each listed once: every region gets one Cloud Run service, \
                one Memorystore instance and one serverless NEG, and a backend service takes only one serverless NEG \
                per region.
                """,
            source: "https://cloud.google.com/load-balancing/docs/negs/serverless-neg-concepts"),
        Rule(
            "TFC0106", family: "project", title: "invalid state backend",
            explanation: """
                `state.bucket` is a Cloud Storage bucket name (3 to 63 lowercase letters, digits, `-`, `_` and `.`) \
                and `state.prefix` a relative path inside it. Terraform keeps the topology's state there, shared by \
                every run of `tfctl plan --terraform` and `tfctl apply`.
                """,
            source: "https://cloud.google.com/storage/docs/buckets#naming"),
        Rule(
            "TFC0105", family: "project", title: "invalid label",
            explanation: """
                Label keys are 1 to 63 characters of lowercase letters, digits, `_` and `-`, starting with a \
                lowercase letter; values are at most 63 of the same characters.
                """,
            source: "https://cloud.google.com/resource-manager/docs/labels-overview"),
    ]
}
