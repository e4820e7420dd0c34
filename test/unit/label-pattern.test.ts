/**
 * The labelRule pattern syntax checked in the input schema (workflow code, where re2js cannot be
 * imported) agrees with re2js, which the label activity matches with: whatever the schema
 * accepts, RE2 compiles — checked on a hand-picked list and on many generated patterns — and a
 * catastrophic pattern is matched in linear time.
 */
import { RE2JS } from 're2js';
import { labelRuleSchema } from '../../workflows/jobs/dataset-build-contracts';
import { labelPatternProblem } from '../../workflows/jobs/label-pattern';

const re2Compiles = (p: string): boolean => {
  try {
    RE2JS.compile(p);
    return true;
  } catch {
    return false;
  }
};

describe('labelPatternProblem', () => {
  it.each([
    '/cats/',
    '^https://images\\.example\\.com/',
    '\\.(png|jpe?g)$',
    '(a+)+$',
    '[A-Za-z0-9_-]+',
    '[^/]+\\.gif$',
    '(?:dog|cat)s?',
    '(?<kind>dogs|cats)/\\d{2,4}',
    '\\p{L}+',
    '\\P{Nd}',
    'a{1000}',
    '((a{10}){10}){10}',
    '\\x41\\t\\n',
    '[\\]\\[\\-]',
    '😀+',
  ])('accepts %s, and RE2 compiles it', (p) => {
    expect(labelPatternProblem(p)).toBeNull();
    expect(re2Compiles(p)).toBe(true);
  });

  it.each([
    ['(', /^not a valid regular expression$/],
    ['(?=a)', /lookahead and lookbehind/],
    ['(?<!a)b', /lookahead and lookbehind/],
    ['(a)\\1', /not a valid|backreferences/],
    ['(?<n>a)\\k<n>', /backreferences/],
    ['(?i)abc', /not a valid regular expression/],
    ['\\u0041', /unsupported escape \\u/],
    ['\\cA', /unsupported escape \\c/],
    ['[^]', /empty class/],
    ['a{1001}', /repeat count over 1000/],
    ['(a{1000}){1000}', /nested repeat counts multiply to more than 1000/],
    ['(?:a{2}){501}', /nested repeat counts/],
    ['\\p{Script=Greek}', /general category/],
    ['\\p{Letter}', /general category/],
    ['(?<é>x)', /group name/],
    ['[\\b]', /\\b is not supported inside a class/],
  ])('refuses %s (%s), and so does RE2 or JavaScript', (p, why) => {
    const problem = labelPatternProblem(p);
    expect(problem).toMatch(why);
    let js = true;
    try {
      new RegExp(p, 'u');
    } catch {
      js = false;
    }
    expect(re2Compiles(p) && js).toBe(false);
  });

  it('refuses a lone surrogate (no character of any source)', () => {
    expect(labelPatternProblem('a\uD800')).toMatch(/lone surrogate/);
  });

  it('never accepts a pattern RE2 refuses: 100,000 generated patterns', () => {
    const tokens = [
      'a',
      'b',
      '.',
      '^',
      '$',
      '|',
      '(',
      ')',
      '(?:',
      '(?<n>',
      '(?<m>',
      '(?=',
      '(?<=',
      '[',
      ']',
      '[^',
      '-',
      '*',
      '+',
      '?',
      '{',
      '}',
      '{2}',
      '{1,3}',
      '{2,}',
      '{0}',
      '{1000}',
      '{600}',
      '\\d',
      '\\w',
      '\\s',
      '\\b',
      '\\B',
      '\\.',
      '\\-',
      '\\[',
      '\\]',
      '\\p{L}',
      '\\P{Nd}',
      '\\p{Greek}',
      '\\x41',
      '\\0',
      '\\1',
      '\\k<n>',
      '\\u0041',
      '\\t',
      '\\/',
      ',',
      '0',
      '1',
      '😀',
      'é',
      ' ',
      '\\',
      '\\c',
      '\\z',
      '[:alpha:]',
      '\\x{41}',
    ];
    let seed = 20261122;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let accepted = 0;
    const wrong: string[] = [];
    for (let k = 0; k < 100_000; k++) {
      let p = '';
      for (let j = 1 + rnd(8); j > 0; j--) p += tokens[rnd(tokens.length)];
      if (labelPatternProblem(p) !== null) continue;
      accepted++;
      if (!re2Compiles(p)) wrong.push(p);
    }
    expect(wrong).toEqual([]);
    expect(accepted).toBeGreaterThan(5000);
  });

  it('is a 400-style schema issue at the pattern, with the reason', () => {
    const parsed = labelRuleSchema.safeParse({
      by: 'source',
      rules: [
        { pattern: '/ok/', label: 'ok' },
        { pattern: '(?<=x)y', label: 'bad' },
      ],
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues).toEqual([
      expect.objectContaining({
        path: ['rules', 1, 'pattern'],
        message: expect.stringMatching(/^unsupported regular expression: lookahead and lookbehind/),
      }),
    ]);
  });

  it('RE2 matches the catastrophic (a+)+$ on 2 KB at once', () => {
    expect(RE2JS.compile('(a+)+$').test('a'.repeat(2048) + '!')).toBe(false);
  });
});
