/**
 * The syntax of `labelRule` source patterns: the part of RE2's syntax that JavaScript's RegExp
 * (`u` flag) reads the same way. The activities match with `re2js`, a linear-time RE2 engine, so
 * a pattern can never stall a worker (no backtracking); this checker runs in the input schema —
 * at the API and again at the workflow entry, where `re2js` cannot be imported — so a pattern RE2
 * would refuse is a 400, not a failed step. A unit test checks it against `re2js` itself.
 *
 * Accepted: literals; `.`, `^`, `$`; `\d \D \w \W \s \S \b \B`; `\t \n \r \f \v \0 \xHH`; an
 * escaped syntax character (`\.` `\*` `\/` …); `\p{…}` / `\P{…}` with a general category (`L`,
 * `Lu`, `Nd`, … or `Any`); classes `[…]` / `[^…]` with ranges; groups `(…)`, `(?:…)`,
 * `(?<name>…)`; `|`; quantifiers `* + ? {n} {n,} {n,m}`, each optionally lazy (`?`), with repeat
 * counts up to 1,000 (nested counts multiplied). Refused, with the reason: lookahead and
 * lookbehind, backreferences, inline flags, `\u`/`\c` escapes, empty classes, and anything else
 * either engine rejects.
 */

/** Largest repeat count RE2 takes, also for nested repeats multiplied together. */
export const MAX_PATTERN_REPEAT = 1000;

/** Unicode general categories both engines know by these names. */
const CATEGORIES = new Set(
  (
    'Any L LC Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po S Sm Sc Sk So ' +
    'Z Zs Zl Zp C Cc Cf Cs Co Cn'
  ).split(' '),
);
/** Characters that must be escaped outside a class, and may be escaped anywhere. */
const SYNTAX = '^$\\.*+?()[]{}|/';
const CLASS_ESCAPES = 'dDwWsS';
const CONTROL_ESCAPES = 'tnrfv';

type Node =
  | { kind: 'leaf' }
  | { kind: 'group'; alts: Node[][] }
  | { kind: 'repeat'; min: number; max: number; brace: boolean; sub: Node };

class PatternError extends Error {}

class Parser {
  private i = 0;
  private readonly names = new Set<string>();
  constructor(private readonly s: string) {}

  private peek(offset = 0): string | undefined {
    return this.s[this.i + offset];
  }
  /** UTF-16 units of the character at the cursor (2 for a surrogate pair). */
  private charLength(): number {
    return (this.s.codePointAt(this.i) ?? 0) > 0xffff ? 2 : 1;
  }
  private fail(message: string): never {
    throw new PatternError(message);
  }

  parse(): Node[][] {
    const alts = this.alternation();
    if (this.i < this.s.length) this.fail(`unmatched ")" at position ${this.i + 1}`);
    return alts;
  }

  private alternation(): Node[][] {
    const alts: Node[][] = [this.sequence()];
    while (this.peek() === '|') {
      this.i++;
      alts.push(this.sequence());
    }
    return alts;
  }

  private sequence(): Node[] {
    const seq: Node[] = [];
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) {
      const atom = this.atom();
      seq.push(this.quantified(atom));
    }
    return seq;
  }

  private quantified(atom: { node: Node; repeatable: boolean }): Node {
    const c = this.peek();
    let min: number;
    let max: number;
    let brace = false;
    if (c === '*' || c === '+' || c === '?') {
      this.i++;
      [min, max] = c === '*' ? [0, -1] : c === '+' ? [1, -1] : [0, 1];
    } else if (c === '{') {
      [min, max] = this.braces();
      brace = true;
    } else {
      return atom.node;
    }
    if (!atom.repeatable) this.fail(`nothing to repeat before position ${this.i}`);
    if (this.peek() === '?') this.i++; // lazy
    const next = this.peek();
    if (next === '*' || next === '+' || next === '?' || next === '{') {
      this.fail(`a quantifier cannot follow another (position ${this.i + 1})`);
    }
    return { kind: 'repeat', min, max, brace, sub: atom.node };
  }

  private braces(): [number, number] {
    const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.s.slice(this.i));
    if (!m)
      this.fail(
        `"{" at position ${this.i + 1} does not start a repeat {n}, {n,} or {n,m} (escape it as \\{)`,
      );
    this.i += m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
    if (min > MAX_PATTERN_REPEAT || max > MAX_PATTERN_REPEAT) {
      this.fail(`repeat count over ${MAX_PATTERN_REPEAT} in ${m[0]}`);
    }
    if (max !== -1 && max < min) this.fail(`repeat ${m[0]} has its bounds in the wrong order`);
    return [min, max];
  }

  private atom(): { node: Node; repeatable: boolean } {
    const c = this.peek()!;
    const leaf: Node = { kind: 'leaf' };
    switch (c) {
      case '(':
        return { node: this.group(), repeatable: true };
      case '[':
        this.cls();
        return { node: leaf, repeatable: true };
      case '^':
      case '$':
        this.i++;
        return { node: leaf, repeatable: false };
      case '\\': {
        const boundary = this.peek(1) === 'b' || this.peek(1) === 'B';
        this.escape(false);
        return { node: leaf, repeatable: !boundary };
      }
      case '*':
      case '+':
      case '?':
        return this.fail(`nothing to repeat before position ${this.i + 1}`);
      case '{':
      case '}':
      case ']':
        return this.fail(`"${c}" at position ${this.i + 1} must be escaped as \\${c}`);
      default:
        this.i += this.charLength();
        return { node: leaf, repeatable: true };
    }
  }

  private group(): Node {
    const start = this.i;
    this.i++; // (
    if (this.peek() === '?') {
      const rest = this.s.slice(this.i + 1);
      if (rest.startsWith(':')) {
        this.i += 2;
      } else if (/^<[=!]/.test(rest) || /^[=!]/.test(rest)) {
        this.fail(`lookahead and lookbehind (at position ${start + 1}) are not supported`);
      } else if (rest.startsWith('<')) {
        const m = /^<([^>]*)>/.exec(rest);
        if (!m || !/^[A-Za-z_][A-Za-z0-9_]{0,31}$/.test(m[1])) {
          this.fail(
            `group name at position ${start + 1} must be a letter or _ then up to 31 letters, digits or _`,
          );
        }
        if (this.names.has(m[1])) this.fail(`group name "${m[1]}" is used twice`);
        this.names.add(m[1]);
        this.i += 1 + m[0].length;
      } else {
        this.fail(
          `"(?" at position ${start + 1}: only (?:…) and (?<name>…) groups are supported (no inline flags)`,
        );
      }
    }
    const alts = this.alternation();
    if (this.peek() !== ')') this.fail(`group opened at position ${start + 1} is not closed`);
    this.i++;
    return { kind: 'group', alts };
  }

  /** One escape; returns true when it stands for a single character (a valid range end). */
  private escape(inClass: boolean): boolean {
    const at = this.i + 1;
    const e = this.peek(1);
    if (e === undefined) this.fail('the pattern ends with a lone backslash');
    this.i += 2;
    if (CLASS_ESCAPES.includes(e)) return false;
    if (e === 'b' || e === 'B') {
      if (inClass) this.fail(`\\${e} is not supported inside a class (position ${at})`);
      return false;
    }
    if (CONTROL_ESCAPES.includes(e)) return true;
    if (e === '0') {
      if (/[0-9]/.test(this.peek() ?? '')) this.fail(`\\0 followed by a digit (position ${at}) is ambiguous`);
      return true;
    }
    if (e === 'x') {
      if (!/^[0-9A-Fa-f]{2}/.test(this.s.slice(this.i)))
        this.fail(`\\x at position ${at} needs two hex digits`);
      this.i += 2;
      return true;
    }
    if (e === 'p' || e === 'P') {
      const m = /^\{([A-Za-z]+)\}/.exec(this.s.slice(this.i));
      if (!m || !CATEGORIES.has(m[1])) {
        this.fail(`\\${e} at position ${at} needs a general category such as {L}, {Lu}, {Nd} or {Any}`);
      }
      this.i += m[0].length;
      return false;
    }
    if (SYNTAX.includes(e) || (inClass && e === '-')) return true;
    if (/[1-9]/.test(e) || e === 'k')
      this.fail(`backreferences (\\${e} at position ${at}) are not supported`);
    return this.fail(`unsupported escape \\${e} at position ${at}`);
  }

  /** A class member; returns true when it is a single character (a valid range end). */
  private classAtom(): boolean {
    const c = this.peek();
    if (c === undefined) this.fail('a class "[" is not closed');
    if (c === '\\') return this.escape(true);
    if (c === '[') this.fail(`"[" inside a class (position ${this.i + 1}) must be escaped as \\[`);
    this.i += this.charLength();
    return true;
  }

  private cls(): void {
    const start = this.i;
    this.i++; // [
    if (this.peek() === '^') this.i++;
    if (this.peek() === ']') this.fail(`empty class at position ${start + 1}`);
    while (this.peek() !== ']') {
      if (this.peek() === undefined) this.fail(`class opened at position ${start + 1} is not closed`);
      const single = this.classAtom();
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined) {
        this.i++;
        if (!single || !this.classAtom()) {
          this.fail(
            `a class range must be between two characters (position ${this.i}); escape a literal - as \\-`,
          );
        }
        if (this.peek() === '-' && this.peek(1) !== ']') {
          this.fail(`write a literal "-" after a range as \\- (position ${this.i + 1})`);
        }
      }
    }
    this.i++; // ]
  }
}

/** RE2's repeat-size rule: along any path, the counts of nested repeats multiply to at most 1,000. */
function repeatsFit(node: Node, n: number): boolean {
  if (node.kind === 'leaf') return true;
  if (node.kind === 'group') return node.alts.every((seq) => seq.every((x) => repeatsFit(x, n)));
  if (node.brace) {
    let m = node.max;
    if (m === 0) return true;
    if (m < 0) m = node.min;
    if (m > n) return false;
    if (m > 0) n = Math.floor(n / m);
  }
  return repeatsFit(node.sub, n);
}

function checkRepeats(node: Node): boolean {
  if (node.kind === 'leaf') return true;
  if (node.kind === 'group') return node.alts.every((seq) => seq.every(checkRepeats));
  if (node.brace && (node.min >= 2 || node.max >= 2) && !repeatsFit(node, MAX_PATTERN_REPEAT)) return false;
  return checkRepeats(node.sub);
}

/**
 * Why `pattern` is not an accepted label pattern, or null when it is (see the file comment).
 * Pure and deterministic: it runs inside workflows.
 */
export function labelPatternProblem(pattern: string): string | null {
  try {
    new RegExp(pattern, 'u');
  } catch {
    return 'not a valid regular expression';
  }
  if (/\p{Cs}/u.test(pattern)) return 'not a valid regular expression: it holds a lone surrogate';
  let alts: Node[][];
  try {
    alts = new Parser(pattern).parse();
  } catch (err) {
    if (err instanceof PatternError) return `unsupported regular expression: ${err.message}`;
    throw err;
  }
  const root: Node = { kind: 'group', alts };
  if (!checkRepeats(root)) {
    return `unsupported regular expression: nested repeat counts multiply to more than ${MAX_PATTERN_REPEAT}`;
  }
  return null;
}
