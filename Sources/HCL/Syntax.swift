/// A generic HCL syntax tree: what Terraform files are made of, with no knowledge of any provider.

/// A whole `.tf` file: leading comment lines, then top-level blocks separated by one blank line.
public struct File: Sendable, Hashable {
    public var comments: [String]
    public var blocks: [Block]

    public init(comments: [String] = [], blocks: [Block]) {
        self.comments = comments
        self.blocks = blocks
    }
}

/// `type "label" "label" { body }`.
public struct Block: Sendable, Hashable {
    public var type: String
    public var labels: [String]
    public var body: [BodyItem]
    /// `# ...` lines printed just above the block: why it is there.
    public var comments: [String] = []

    /// The block with `comments` above it.
    public func commented(_ lines: String...) -> Block {
        var block = self
        block.comments += lines
        return block
    }

    public init(_ type: String, _ labels: String..., body: [BodyItem]) {
        self.init(type: type, labels: labels, body: body)
    }

    public init(_ type: String, _ labels: String..., @BodyBuilder body: () -> [BodyItem]) {
        self.init(type: type, labels: labels, body: body())
    }

    public init(type: String, labels: [String], body: [BodyItem]) {
        self.type = type
        self.labels = labels
        self.body = body
    }
}

/// One item of a block body. The printer orders items canonically: meta-arguments (`provider`, `count`,
/// `for_each`) first, then arguments, then nested blocks, then `lifecycle` and `depends_on` last.
public enum BodyItem: Sendable, Hashable {
    case attribute(Attribute)
    case block(Block)
}

/// `name = expression`.
public struct Attribute: Sendable, Hashable {
    public var name: String
    public var value: Expression

    public init(_ name: String, _ value: Expression) {
        self.name = name
        self.value = value
    }
}

/// An HCL expression. Literal or reference is decided by whoever builds the tree, never guessed from text.
public indirect enum Expression: Sendable, Hashable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null
    /// `google_redis_instance.main.host`, `var.project_id`, `foo.bar[0].baz`.
    case reference(Traversal)
    case call(String, [Expression])
    case list([Expression])
    case object([ObjectItem])
    /// `"prefix-${var.x}-suffix"`.
    case template([TemplatePart])
    /// `condition ? whenTrue : whenFalse`.
    case conditional(Expression, Expression, Expression)

    /// A reference written as dotted names: `.ref("var", "project_id")`.
    public static func ref(_ root: String, _ names: String...) -> Expression {
        .reference(Traversal(root: root, steps: names.map(Traversal.Step.attribute)))
    }
}

/// A variable traversal: a root name followed by attribute and index steps.
public struct Traversal: Sendable, Hashable {
    public enum Step: Sendable, Hashable {
        case attribute(String)
        case index(Int)
        /// `[*]`: every element of a list, the steps after it applied to each.
        case splat
    }

    public var root: String
    public var steps: [Step]

    public init(root: String, steps: [Step] = []) {
        self.root = root
        self.steps = steps
    }

    public func attribute(_ name: String) -> Traversal { Traversal(root: root, steps: steps + [.attribute(name)]) }
    public func index(_ index: Int) -> Traversal { Traversal(root: root, steps: steps + [.index(index)]) }
}

public struct ObjectItem: Sendable, Hashable {
    public var key: String
    public var value: Expression

    public init(_ key: String, _ value: Expression) {
        self.key = key
        self.value = value
    }
}

public enum TemplatePart: Sendable, Hashable {
    case literal(String)
    case interpolation(Expression)
}

/// Builds block bodies declaratively; `nil` optionals and empty conditionals contribute nothing.
@resultBuilder
public enum BodyBuilder {
    public static func buildExpression(_ attribute: Attribute) -> [BodyItem] { [.attribute(attribute)] }
    public static func buildExpression(_ block: Block) -> [BodyItem] { [.block(block)] }
    public static func buildExpression(_ blocks: [Block]) -> [BodyItem] { blocks.map(BodyItem.block) }
    public static func buildExpression(_ items: [BodyItem]) -> [BodyItem] { items }
    public static func buildBlock(_ parts: [BodyItem]...) -> [BodyItem] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [BodyItem]?) -> [BodyItem] { part ?? [] }
    public static func buildEither(first: [BodyItem]) -> [BodyItem] { first }
    public static func buildEither(second: [BodyItem]) -> [BodyItem] { second }
    public static func buildArray(_ parts: [[BodyItem]]) -> [BodyItem] { parts.flatMap { $0 } }
}

extension Expression {
    /// Every traversal the expression names, in order, however deeply nested.
    public var references: [Traversal] {
        switch self {
        case .string, .int, .double, .bool, .null: []
        case .reference(let traversal): [traversal]
        case .call(_, let arguments): arguments.flatMap(\.references)
        case .list(let items): items.flatMap(\.references)
        case .object(let items): items.flatMap(\.value.references)
        case .template(let parts):
            parts.flatMap { part -> [Traversal] in
                if case .interpolation(let expression) = part { return expression.references }
                return []
            }
        case .conditional(let condition, let whenTrue, let whenFalse):
            condition.references + whenTrue.references + whenFalse.references
        }
    }
}

extension Block {
    /// Every traversal named anywhere in the block's body, nested blocks and `depends_on` included.
    public var references: [Traversal] {
        body.flatMap { item -> [Traversal] in
            switch item {
            case .attribute(let attribute): attribute.value.references
            case .block(let block): block.references
            }
        }
    }
}
