/**
 * The search grammar (docs/vc.md): expressions over a checkpoint's metadata, parsed by jsep
 * (a well-kept expression parser) into its syntax tree, then checked and compiled here into
 * our own predicate; nothing is evaluated as JavaScript (no eval, no Function).
 *
 *   metrics.test_accuracy > 0.8 and epoch >= 10 and (tags.lr = "0.03" or tags.lr in ("0.1", "0.3"))
 *   not run = 3      zoo like "ffnn-*"      last(metrics.train_loss) < 0.1      tag = "baseline"
 *
 * Fields: zoo, arch, run, epoch, step, sha, parent, tag (any tag of the checkpoint),
 * metrics.<name>, tags.<key> (the run's tags); per-run aggregates last(...), min(...), max(...)
 * of a metric over the run's checkpoints. Operators: = != < <= > >= in like, and or not,
 * parentheses. A missing value (a metric a checkpoint lacks, a tag its run lacks) makes a
 * comparison false. Errors give the column (1-based) of the token they are about.
 */
import jsep, { type Expression } from 'jsep';
import { UserError } from '../core/errors.ts';

/** What an expression reads of one checkpoint. */
export interface QueryRow {
  zoo: string;
  arch: string;
  run: number;
  epoch: number;
  step: number;
  sha: string;
  parent: string | null;
  /** The checkpoint's tags (named marks). */
  tag: string[];
  metric(name: string): number;
  runTag(key: string): string | undefined;
  /** A metric's last, smallest or largest value over the checkpoint's run. */
  aggregate(fn: Aggregate, name: string): number;
}

export type Aggregate = 'last' | 'min' | 'max';
const AGGREGATES: readonly Aggregate[] = ['last', 'min', 'max'];
const FIELDS = ['zoo', 'arch', 'run', 'epoch', 'step', 'sha', 'parent', 'tag'] as const;
const COMPARISONS = ['=', '!=', '<', '<=', '>', '>=', 'in', 'like'] as const;
type Comparison = (typeof COMPARISONS)[number];

export class QueryError extends UserError {
  constructor(
    readonly column: number,
    message: string,
    expr: string,
  ) {
    super(`search expression, column ${column}: ${message} (in: ${expr})`);
  }
}

let configured = false;
/** jsep with this grammar's operators only: comparisons, and / or / not, unary minus for numbers. */
function parser(): typeof jsep {
  if (configured) return jsep;
  jsep.removeAllBinaryOps();
  jsep.removeAllUnaryOps();
  jsep.removeAllLiterals();
  jsep.addBinaryOp('or', 1);
  jsep.addBinaryOp('and', 2);
  for (const op of COMPARISONS) jsep.addBinaryOp(op, 6);
  jsep.addBinaryOp('<>', 6);
  jsep.addUnaryOp('not');
  jsep.addUnaryOp('-');
  configured = true;
  return jsep;
}

/** A compiled expression: true for the rows it selects. */
export type Predicate = (row: QueryRow) => boolean;

/** jsep's syntax tree of `text`, or its syntax error as a QueryError with the column. */
function parse(text: string): Expression {
  let tree: Expression;
  try {
    tree = parser()(text);
  } catch (err) {
    const e = err as { index?: number; description?: string };
    throw new QueryError((e.index ?? 0) + 1, e.description ?? String(err), text);
  }
  if (!tree) throw new QueryError(1, 'the expression is empty', text);
  return tree;
}

/** Parses and checks `expr`; refuses it with the column of the bad token. */
export function compileQuery(expr: string): Predicate {
  return new Compiler(expr).boolean(liftNot(parse(expr)));
}

/** A sort key: a field, metrics.<name>, tags.<key> or an aggregate, as on a comparison's left. */
export function compileSortKey(key: string): (row: QueryRow) => number | string | null {
  const value = new Compiler(key).sortValue(parse(key));
  return (row) => {
    const v = value(row);
    return Array.isArray(v) ? (v[0] ?? null) : v;
  };
}

/**
 * jsep binds `not` to the next token (`not run = 3` is `(not run) = 3`); as in SQL, `not` here
 * negates the comparison it starts.
 */
function liftNot(node: Expression): Expression {
  const n = node as Expression & Record<string, Expression>;
  if (n.type === 'BinaryExpression') {
    const [left, right] = [liftNot(n.left), liftNot(n.right)];
    const op = n.operator as unknown as string;
    if (op !== 'and' && op !== 'or' && left.type === 'UnaryExpression' && left.operator === 'not')
      return {
        type: 'UnaryExpression',
        operator: 'not',
        prefix: true,
        argument: liftNot({ ...n, left: left.argument as Expression, right }),
      };
    return { ...n, left, right };
  }
  if (n.type === 'UnaryExpression') return { ...n, argument: liftNot(n.argument) };
  return node;
}

type Value = (row: QueryRow) => number | string | null | string[];

class Compiler {
  constructor(private readonly expr: string) {}

  /** The column of the first occurrence of `text` (1-based; 1 when not found). */
  private at(text: string): number {
    const i = this.expr.indexOf(text);
    return i < 0 ? 1 : i + 1;
  }

  private fail(text: string, message: string): never {
    throw new QueryError(this.at(text), message, this.expr);
  }

  boolean(node: Expression): Predicate {
    const n = node as Expression & Record<string, Expression>;
    if (n.type === 'BinaryExpression') {
      const op = n.operator as unknown as string;
      if (op === 'and' || op === 'or') {
        const [a, b] = [this.boolean(n.left), this.boolean(n.right)];
        return op === 'and' ? (r) => a(r) && b(r) : (r) => a(r) || b(r);
      }
      return this.comparison(op === '<>' ? '!=' : (op as Comparison), n.left, n.right);
    }
    if (n.type === 'UnaryExpression' && n.operator === 'not') {
      const a = this.boolean(n.argument);
      return (r) => !a(r);
    }
    return this.fail(
      this.textOf(node),
      `expected a comparison (e.g. epoch >= 10), found ${this.describe(node)}`,
    );
  }

  private comparison(op: Comparison, leftNode: Expression, rightNode: Expression): Predicate {
    const left = this.value(leftNode);
    if (op === 'in') {
      const list = this.list(rightNode);
      return (r) => {
        const v = left(r);
        return Array.isArray(v) ? v.some((x) => list.includes(x)) : v !== null && list.includes(v);
      };
    }
    const right = this.literal(rightNode);
    if (op === 'like') {
      if (typeof right !== 'string')
        this.fail(String(right), `like takes a quoted glob pattern ("ffnn-*"), got ${right}`);
      const re = new RegExp(
        `^${right
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      );
      return (r) => {
        const v = left(r);
        return Array.isArray(v) ? v.some((x) => re.test(x)) : typeof v === 'string' && re.test(v);
      };
    }
    const test = (v: number | string): boolean => {
      if (typeof v !== typeof right) return op === '!=' ? v !== right : false;
      switch (op) {
        case '=':
          return v === right;
        case '!=':
          return v !== right;
        case '<':
          return v < right;
        case '<=':
          return v <= right;
        case '>':
          return v > right;
        case '>=':
          return v >= right;
      }
    };
    return (r) => {
      const v = left(r);
      if (v === null || (typeof v === 'number' && Number.isNaN(v))) return false;
      return Array.isArray(v) ? (op === '!=' ? !v.includes(right as string) : v.some(test)) : test(v);
    };
  }

  sortValue(node: Expression): Value {
    return this.value(node);
  }

  /** A field, metric, run tag or aggregate: the left side of a comparison. */
  private value(node: Expression): Value {
    const n = node as Expression & Record<string, unknown>;
    if (n.type === 'Identifier') {
      const name = n.name as string;
      if (!(FIELDS as readonly string[]).includes(name))
        this.fail(
          name,
          `unknown field '${name}'; the fields are ${FIELDS.join(', ')}, metrics.<name>, tags.<key> and last / min / max(metrics.<name>)`,
        );
      return (r) => r[name as (typeof FIELDS)[number]];
    }
    if (n.type === 'MemberExpression' && !n.computed) {
      const [object, property] = [n.object as Expression, n.property as Expression];
      if (object.type === 'Identifier' && property.type === 'Identifier') {
        const [scope, key] = [object.name as string, property.name as string];
        if (scope === 'metrics') return (r) => r.metric(key);
        if (scope === 'tags') return (r) => r.runTag(key) ?? null;
        this.fail(scope, `unknown prefix '${scope}.'; use metrics.<name> or tags.<key>`);
      }
    }
    if (n.type === 'CallExpression') {
      const callee = n.callee as Expression;
      const args = n.arguments as Expression[];
      const fn = callee.type === 'Identifier' ? (callee.name as string) : '';
      if (!(AGGREGATES as readonly string[]).includes(fn))
        this.fail(fn || '(', `unknown function '${fn}'; the aggregates are ${AGGREGATES.join(', ')}`);
      const arg = args[0] as (Expression & Record<string, Expression>) | undefined;
      if (
        args.length !== 1 ||
        arg!.type !== 'MemberExpression' ||
        arg!.object.type !== 'Identifier' ||
        arg!.object.name !== 'metrics' ||
        arg!.property.type !== 'Identifier'
      )
        this.fail(fn, `${fn}(...) takes one metric, as in ${fn}(metrics.test_loss)`);
      const metric = arg!.property.name as string;
      return (r) => r.aggregate(fn as Aggregate, metric);
    }
    return this.fail(
      this.textOf(node),
      `expected a field, metrics.<name>, tags.<key> or an aggregate, found ${this.describe(node)}`,
    );
  }

  /** A number or a quoted string: the right side of a comparison. */
  private literal(node: Expression): number | string {
    const n = node as Expression & Record<string, unknown>;
    if (n.type === 'Literal' && (typeof n.value === 'number' || typeof n.value === 'string')) return n.value;
    if (n.type === 'UnaryExpression' && n.operator === '-') {
      const v = this.literal(n.argument as Expression);
      if (typeof v === 'number') return -v;
    }
    return this.fail(this.textOf(node), `expected a number or a quoted string, found ${this.describe(node)}`);
  }

  /** `("a", "b")` or a single value after `in`. */
  private list(node: Expression): (number | string)[] {
    const n = node as Expression & Record<string, unknown>;
    const items =
      n.type === 'SequenceExpression'
        ? (n.expressions as Expression[])
        : n.type === 'ArrayExpression'
          ? (n.elements as Expression[])
          : [node];
    return items.map((item) => this.literal(item));
  }

  private textOf(node: Expression): string {
    const n = node as Expression & Record<string, unknown>;
    if (n.type === 'Identifier') return n.name as string;
    if (n.type === 'Literal') return String(n.raw ?? n.value);
    if (typeof n.operator === 'string') return n.operator;
    if (n.type === 'MemberExpression') return this.textOf(n.object as Expression);
    return '';
  }

  private describe(node: Expression): string {
    const text = this.textOf(node);
    return text ? `'${text}'` : `a ${node.type}`;
  }
}
