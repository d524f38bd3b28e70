import { join } from 'node:path';
import * as ts from 'typescript';
import { Edit, Finding, Transform, applyEdits, position, readJson } from './runner';
import { detectSpanish } from './spanish';

export const DEFAULT_GLOSSARY = join(__dirname, '../../../config/i18n/es-en.json');

export interface Glossary {
  actions: Record<string, [gerund: string, base: string]>;
  nouns: Record<string, string>;
  patterns: { es: string; en: string }[];
}

/** Logger and console methods whose arguments are messages. */
const LOG_METHODS = new Set(['log', 'info', 'warn', 'error', 'debug', 'trace', 'fatal', 'verbose']);
/** Object keys whose string values are messages (`{ message: '…' }`, problem details). */
const MESSAGE_KEYS = new Set([
  'message',
  'msg',
  'detail',
  'details',
  'title',
  'error',
  'description',
  'reason',
  'errorMessage',
]);

/** Placeholders stand for `${…}` while matching: private-use characters no message contains. */
const OPEN = '\uE000';
const CLOSE = '\uE001';
const DETAILS = '\uE002';
const PLACEHOLDER = new RegExp(`${OPEN}(\\d+)${CLOSE}`, 'g');

/** Folds case and accents one character for one, so match offsets are offsets in the original. */
function fold(text: string): string {
  return text.toLowerCase().replace(/[áàäâéèëêíìïîóòöôúùüûñ]/g, (c) => c.normalize('NFD')[0]);
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface CompiledPattern {
  regex: RegExp;
  slots: string[];
  en: string;
}

/** Translates Spanish messages with the glossary; undefined when no pattern fits. */
export class Translator {
  private readonly patterns: CompiledPattern[];
  private readonly nouns = new Map<string, string>();
  private readonly actions = new Map<string, [string, string]>();

  constructor(glossary: Glossary) {
    for (const [es, en] of Object.entries(glossary.nouns)) this.nouns.set(fold(es), en);
    for (const [es, forms] of Object.entries(glossary.actions)) this.actions.set(fold(es), forms);
    const alternation = (keys: Iterable<string>): string =>
      [...keys]
        .sort((a, b) => b.length - a.length)
        .map((key) => escapeRegExp(key).replace(/ /g, '\\s+'))
        .join('|');
    const article =
      '(?:(?:el|la|los|las|un|una|unos|unas|del|al|de\\s+la|de\\s+los|de\\s+las)\\s+)?';
    const nounGroup = `${article}(${alternation(this.nouns.keys())})`;
    const actionGroup = `(${alternation(this.actions.keys())})`;
    const token = `(${OPEN}\\d+${CLOSE}|['"][^'"]+['"]|[^\\s:,.]+)`;

    this.patterns = glossary.patterns.map(({ es, en }) => {
      const slots: string[] = [];
      const parts = fold(es).split(/(\{\w+\}|\[[^\]]*\])/);
      const literal = (text: string): string =>
        escapeRegExp(text)
          .replace(/ +/g, '\\s+')
          .replace(/(\\s\+)?([:,])(\\s\+)?/g, '\\s*$2\\s*');
      // an optional group takes one neighbouring space with it, so that leaving it out still matches
      const absorbed: ('before' | 'after' | undefined)[] = parts.map(() => undefined);
      parts.forEach((part, index) => {
        if (!/^\[.*\|\]$/.test(part)) return;
        if (parts[index - 1]?.endsWith(' ')) {
          parts[index - 1] = parts[index - 1].slice(0, -1);
          absorbed[index] = 'before';
        } else if (parts[index + 1]?.startsWith(' ')) {
          parts[index + 1] = parts[index + 1].slice(1);
          absorbed[index] = 'after';
        }
      });
      const source = parts
        .map((part, index) => {
          const slot = /^\{(\w+)\}$/.exec(part);
          if (slot) {
            slots.push(slot[1]);
            if (slot[1] === 'noun') return nounGroup;
            if (slot[1] === 'action') return actionGroup;
            if (slot[1] === 'details') return '(.+?)';
            return token;
          }
          const choice = /^\[(.*)\]$/.exec(part);
          if (!choice) return literal(part);
          const options = choice[1].split('|');
          const body = options
            .filter(Boolean)
            .map((option) => literal(option))
            .join('|');
          if (!options.includes('')) return `(?:${body})`;
          if (absorbed[index] === 'before') return `(?:\\s+(?:${body}))?`;
          if (absorbed[index] === 'after') return `(?:(?:${body})\\s+)?`;
          return `(?:${body})?`;
        })
        .join('');
      return { regex: new RegExp(`^${source}$`, 'd'), slots, en };
    });
  }

  /** `Error al crear el usuario: ${…}` → `Error creating user: ${…}`; undefined when unknown. */
  translate(message: string): string | undefined {
    const lead = /^[\s¡¿]*/.exec(message)?.[0] ?? '';
    const trail = /[\s.!?:;,]*$/.exec(message.slice(lead.length))?.[0] ?? '';
    // `'Error al crear usuario: ' + detail`: translate as if the details were there, then cut them
    if (trail.includes(':')) {
      const core = message.slice(lead.length, message.length - trail.length);
      const withDetails = this.translateCore(`${core}: ${DETAILS}`);
      const at = withDetails?.indexOf(DETAILS) ?? -1;
      if (withDetails && at >= 0 && at + DETAILS.length === withDetails.length)
        return `${lead.replace(/[¡¿]/g, '')}${withDetails.slice(0, at).replace(/\s*:\s*$/, '')}${trail}`;
    }
    return this.translateCore(message);
  }

  private translateCore(message: string): string | undefined {
    const lead = /^[\s¡¿]*/.exec(message)?.[0] ?? '';
    const trail = /[\s.!?:;,]*$/.exec(message.slice(lead.length))?.[0] ?? '';
    const core = message.slice(lead.length, message.length - trail.length);
    const folded = fold(core);
    for (const pattern of this.patterns) {
      const match = pattern.regex.exec(folded);
      if (!match?.indices) continue;
      const captured = new Map<string, string>();
      pattern.slots.forEach((slot, index) => {
        const [start, end] = match.indices?.[index + 1] ?? [0, 0];
        captured.set(
          slot,
          slot === 'details' || slot === 'id' || slot === 'field'
            ? core.slice(start, end)
            : match[index + 1],
        );
      });
      const english = pattern.en.replace(/\{(\w+)\}/g, (_, slot: string) =>
        this.fill(slot, captured),
      );
      return `${lead.replace(/[¡¿]/g, '')}${english}${trail.replace(/[¡¿]/g, '')}`;
    }
    return undefined;
  }

  private fill(slot: string, captured: Map<string, string>): string {
    const action = this.actions.get(fold(captured.get('action') ?? ''));
    const noun = this.nouns.get(fold(captured.get('noun') ?? '').replace(/\s+/g, ' '));
    switch (slot) {
      case 'action':
        return action?.[0] ?? '';
      case 'verb':
        return action?.[1] ?? '';
      case 'noun':
        return noun ?? '';
      case 'Noun':
        return noun ? noun[0].toUpperCase() + noun.slice(1) : '';
      case 'field': {
        const field = captured.get('field') ?? '';
        return this.nouns.get(fold(field)) ?? field;
      }
      default:
        return captured.get(slot) ?? '';
    }
  }
}

interface MessageLiteral {
  node: ts.StringLiteral | ts.NoSubstitutionTemplateLiteral | ts.TemplateExpression;
  /** The message with `${…}` replaced by numbered placeholders. */
  text: string;
  expressions: string[];
}

/** Finds Spanish user-facing messages and replaces the ones the glossary knows. */
export function i18nTransform(
  glossary: Glossary = readJson<Glossary>(DEFAULT_GLOSSARY),
): Transform {
  const translator = new Translator(glossary);
  return (sourceFile) => {
    const findings: Finding[] = [];
    const edits: Edit[] = [];
    for (const literal of messageLiterals(sourceFile)) {
      const plain = literal.text.replace(PLACEHOLDER, ' ');
      const verdict = detectSpanish(plain);
      if (!verdict.spanish) continue;
      const where = position(literal.node);
      const found = literal.node.getText(sourceFile);
      const english = translator.translate(literal.text);
      const problem =
        english === undefined ? 'no glossary entry fits' : checkTranslation(literal, english);
      if (english === undefined || problem) {
        findings.push({ ...where, found, note: problem });
        continue;
      }
      const replacement = render(literal, english, sourceFile);
      findings.push({ ...where, found, replacement });
      edits.push({
        start: literal.node.getStart(sourceFile),
        end: literal.node.getEnd(),
        text: replacement,
      });
    }
    return { findings, output: edits.length > 0 ? applyEdits(sourceFile.text, edits) : undefined };
  };
}

/** A translation must keep every placeholder, in order, and leave no Spanish behind. */
function checkTranslation(literal: MessageLiteral, english: string): string | undefined {
  const order = [...english.matchAll(PLACEHOLDER)].map((match) => Number(match[1]));
  const expected = literal.expressions.map((_, index) => index);
  if (order.join() !== expected.join()) return 'the translation would move or drop a placeholder';
  const rest = detectSpanish(english.replace(PLACEHOLDER, ' '));
  if (rest.spanish) return `Spanish left after translation (${rest.words.join(', ')})`;
  return undefined;
}

function render(literal: MessageLiteral, english: string, sourceFile: ts.SourceFile): string {
  if (ts.isStringLiteral(literal.node)) {
    const quote = literal.node.getText(sourceFile)[0];
    return quote + escapeString(english, quote) + quote;
  }
  const body = english
    .split(PLACEHOLDER)
    .map((part, index) =>
      index % 2 === 1
        ? `\${${literal.expressions[Number(part)]}}`
        : escapeString(part, '`').replace(/\$\{/g, '\\${'),
    )
    .join('');
  return `\`${body}\``;
}

function escapeString(text: string, quote: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(new RegExp(quote, 'g'), `\\${quote}`)
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t');
}

/** String and template literals in message positions: exceptions, loggers, message fields, returns. */
function messageLiterals(sourceFile: ts.SourceFile): MessageLiteral[] {
  const seen = new Set<number>();
  const literals: MessageLiteral[] = [];
  const collect = (node: ts.Node | undefined): void => {
    if (!node) return;
    if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node))
      return collect(node.expression);
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
      collect(node.left);
      collect(node.right);
      return;
    }
    if (ts.isConditionalExpression(node)) {
      collect(node.whenTrue);
      collect(node.whenFalse);
      return;
    }
    if (ts.isObjectLiteralExpression(node)) {
      for (const property of node.properties)
        if (
          ts.isPropertyAssignment(property) &&
          MESSAGE_KEYS.has(property.name.getText(sourceFile))
        )
          collect(property.initializer);
      return;
    }
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      if (seen.has(node.pos)) return;
      seen.add(node.pos);
      literals.push({ node, text: node.text, expressions: [] });
      return;
    }
    if (ts.isTemplateExpression(node) && !ts.isTaggedTemplateExpression(node.parent)) {
      if (seen.has(node.pos)) return;
      seen.add(node.pos);
      const expressions = node.templateSpans.map((span) => span.expression.getText(sourceFile));
      const text =
        node.head.text +
        node.templateSpans
          .map((span, index) => `${OPEN}${index}${CLOSE}${span.literal.text}`)
          .join('');
      literals.push({ node, text, expressions });
    }
  };

  const visit = (node: ts.Node): void => {
    if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && isMessageCall(node)) {
      for (const argument of node.arguments ?? []) collect(argument);
    } else if (ts.isPropertyAssignment(node) && MESSAGE_KEYS.has(node.name.getText(sourceFile))) {
      collect(node.initializer);
    } else if ((ts.isReturnStatement(node) || ts.isThrowStatement(node)) && node.expression) {
      collect(node.expression);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return literals.sort((a, b) => a.node.pos - b.node.pos);
}

/** `new XxxException(…)`, `new Error(…)`, `AppException.notFound(…)`, `logger.warn(…)`, `console.log(…)`. */
function isMessageCall(node: ts.NewExpression | ts.CallExpression): boolean {
  const callee = node.expression;
  const name = lastName(callee);
  if (/(Exception|Error)$/.test(name)) return true;
  if (ts.isPropertyAccessExpression(callee)) {
    const receiverName = lastName(callee.expression);
    if (/(Exception|Error)$/.test(receiverName)) return true;
    if (LOG_METHODS.has(name) && /log|console/i.test(receiverName)) return true;
  }
  return false;
}

/** `logger` for `logger`, `warn` for `this.logger.warn`; '' for anything else. */
function lastName(node: ts.Expression): string {
  if (ts.isIdentifier(node)) return node.text;
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  return '';
}
