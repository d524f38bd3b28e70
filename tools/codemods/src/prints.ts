import { basename, dirname } from 'node:path';
import * as ts from 'typescript';
import { Edit, FileResult, Finding, Transform, applyEdits, position } from './runner';

/** console method → the project's logger level (pino's level names). */
const LEVELS: Record<string, 'info' | 'warn' | 'error' | 'debug'> = {
  log: 'info',
  info: 'info',
  warn: 'warn',
  error: 'error',
  debug: 'debug',
  trace: 'debug',
};

/** Nest's Logger has no `info`: its `log` is the info level. */
const NEST_METHODS: Record<string, string> = {
  info: 'log',
  warn: 'warn',
  error: 'error',
  debug: 'debug',
};

/** Types a class property may have to count as "the class's logger". */
const LOGGER_TYPES = new Set(['Logger', 'PinoLogger', 'AppLogger', 'LoggerService']);
/** Modules whose `Logger` follows Nest's call shape (message first) rather than pino's. */
const NEST_LOGGER_MODULES = new Set(['@nestjs/common', 'nestjs-pino']);
/** Keys pino writes itself; a field with one of these names would collide with them. */
const RESERVED_KEYS = new Set(['msg', 'level', 'time', 'pid', 'hostname', 'context', 'service']);
const ERROR_NAME = /^(e|err|error|ex|exc|exception|cause|failure)$|(Error|Err|Exception)$/;
const STRING_METHODS = new Set([
  'toString',
  'join',
  'toFixed',
  'toUpperCase',
  'toLowerCase',
  'trim',
]);

interface LoggerRef {
  expression: string;
  flavor: 'pino' | 'nest';
}

export interface PrintsOptions {
  /** Module the added `getLogger` import comes from. */
  importModule: string;
}

export const DEFAULT_LOGGER_MODULE = '@app/logging';

/** Finds console.* calls and rewrites them to the project's logger. */
export function printsTransform(
  options: PrintsOptions = { importModule: DEFAULT_LOGGER_MODULE },
): Transform {
  return (sourceFile, fileName) => new PrintsRewrite(sourceFile, fileName, options).run();
}

class PrintsRewrite {
  private readonly findings: Finding[] = [];
  private readonly edits: Edit[] = [];
  private readonly destructured = new Map<string, string>();
  private readonly destructuringDeclarations: ts.VariableDeclaration[] = [];
  private readonly referencedWithoutCall = new Set<string>();
  private consoleShadowed = false;
  private moduleLogger?: string;
  private moduleLoggerNeeded = false;

  constructor(
    private readonly sourceFile: ts.SourceFile,
    private readonly fileName: string,
    private readonly options: PrintsOptions,
  ) {}

  run(): FileResult {
    this.scanDeclarations(this.sourceFile);
    this.moduleLogger = this.existingModuleLogger();
    this.visit(this.sourceFile);
    this.removeDestructuring();
    if (this.moduleLoggerNeeded && this.moduleLogger === undefined) {
      this.addModuleLogger();
      const name = this.chooseModuleLoggerName();
      for (const edit of this.edits)
        edit.text = edit.text.split(MODULE_LOGGER_PLACEHOLDER).join(name);
      for (const finding of this.findings)
        finding.replacement = finding.replacement?.split(MODULE_LOGGER_PLACEHOLDER).join(name);
    }
    if (this.findings.length === 0) return { findings: [] };
    const edits = this.edits;
    return {
      findings: this.findings,
      output: edits.length > 0 ? applyEdits(this.sourceFile.text, edits) : undefined,
    };
  }

  /** Whether the file declares its own `console`, and `const { log } = console`. */
  private scanDeclarations(node: ts.Node): void {
    if (
      (ts.isVariableDeclaration(node) ||
        ts.isParameter(node) ||
        ts.isFunctionDeclaration(node) ||
        ts.isClassDeclaration(node) ||
        ts.isImportSpecifier(node) ||
        ts.isImportClause(node) ||
        ts.isNamespaceImport(node) ||
        ts.isBindingElement(node)) &&
      node.name &&
      ts.isIdentifier(node.name)
    ) {
      if (node.name.text === 'console' && !ts.isBindingElement(node)) this.consoleShadowed = true;
    }
    if (
      ts.isVariableDeclaration(node) &&
      ts.isObjectBindingPattern(node.name) &&
      node.initializer &&
      this.isConsole(node.initializer)
    ) {
      for (const element of node.name.elements) {
        const method = (element.propertyName ?? element.name).getText(this.sourceFile);
        if (ts.isIdentifier(element.name) && LEVELS[method] && !element.dotDotDotToken)
          this.destructured.set(element.name.text, method);
      }
      this.destructuringDeclarations.push(node);
    }
    ts.forEachChild(node, (child) => this.scanDeclarations(child));
  }

  private isConsole(node: ts.Expression): boolean {
    if (ts.isIdentifier(node)) return node.text === 'console' && !this.consoleShadowed;
    return (
      ts.isPropertyAccessExpression(node) &&
      node.name.text === 'console' &&
      ts.isIdentifier(node.expression) &&
      ['globalThis', 'window', 'global'].includes(node.expression.text)
    );
  }

  /** `console.log`, `console['log']` → 'log'; anything else → undefined. */
  private consoleMethod(node: ts.Expression): string | undefined {
    if (ts.isPropertyAccessExpression(node) && this.isConsole(node.expression))
      return LEVELS[node.name.text] ? node.name.text : undefined;
    if (
      ts.isElementAccessExpression(node) &&
      this.isConsole(node.expression) &&
      ts.isStringLiteralLike(node.argumentExpression)
    )
      return LEVELS[node.argumentExpression.text] ? node.argumentExpression.text : undefined;
    return undefined;
  }

  private visit(node: ts.Node): void {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const method =
        this.consoleMethod(callee) ??
        (ts.isIdentifier(callee) ? this.destructured.get(callee.text) : undefined);
      if (method) {
        const logger = this.loggerFor(node);
        this.replace(node, this.callText(logger, LEVELS[method], node.arguments));
        return;
      }
    } else if (
      (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) &&
      !(ts.isCallExpression(node.parent) && node.parent.expression === node)
    ) {
      // `promise.catch(console.error)`: the method passed as a value
      const method = this.consoleMethod(node);
      if (method) {
        this.replace(node, this.callbackText(this.loggerFor(node), LEVELS[method]));
        return;
      }
    } else if (
      ts.isIdentifier(node) &&
      this.destructured.has(node.text) &&
      !ts.isBindingElement(node.parent) &&
      !(ts.isCallExpression(node.parent) && node.parent.expression === node)
    ) {
      this.referencedWithoutCall.add(node.text);
    }
    ts.forEachChild(node, (child) => this.visit(child));
  }

  private replace(node: ts.Node, text: string): void {
    const found = node.getText(this.sourceFile).replace(/\s+/g, ' ');
    this.findings.push({
      ...position(node),
      found: found.length > 100 ? `${found.slice(0, 97)}...` : found,
      replacement: text,
    });
    this.edits.push({ start: node.getStart(this.sourceFile), end: node.getEnd(), text });
  }

  /** `const { log, error } = console`: removed once every use is rewritten. */
  private removeDestructuring(): void {
    for (const declaration of this.destructuringDeclarations) {
      const pattern = declaration.name as ts.ObjectBindingPattern;
      const names = pattern.elements.map((element) => element.name.getText(this.sourceFile));
      const removable = names.every(
        (name) => this.destructured.has(name) && !this.referencedWithoutCall.has(name),
      );
      if (!removable) {
        this.findings.push({
          ...position(declaration),
          found: declaration.getText(this.sourceFile),
          note: 'console methods used as values; rewrite their uses by hand',
        });
        continue;
      }
      const list = declaration.parent as ts.VariableDeclarationList;
      if (list.declarations.length === 1 && ts.isVariableStatement(list.parent)) {
        const statement = list.parent;
        let end = statement.getEnd();
        if (this.sourceFile.text[end] === '\n') end += 1;
        this.edits.push({ start: statement.getStart(this.sourceFile), end, text: '' });
      } else {
        const index = list.declarations.indexOf(declaration);
        const next = list.declarations[index + 1];
        const previous = list.declarations[index - 1];
        if (next)
          this.edits.push({
            start: declaration.getStart(this.sourceFile),
            end: next.getStart(this.sourceFile),
            text: '',
          });
        else if (previous)
          this.edits.push({ start: previous.getEnd(), end: declaration.getEnd(), text: '' });
      }
    }
  }

  /** The logger a call at `node` should use: its class's logger when it has one, else the module's. */
  private loggerFor(node: ts.Node): LoggerRef {
    const classLogger = this.classLogger(node);
    if (classLogger) return classLogger;
    this.moduleLoggerNeeded = true;
    this.moduleLoggerSites.push(node);
    return { expression: this.moduleLoggerName(), flavor: 'pino' };
  }

  private classLogger(node: ts.Node): LoggerRef | undefined {
    let current: ts.Node = node;
    while (current.parent) {
      const parent: ts.Node = current.parent;
      if (ts.isClassLike(parent)) {
        const member = current as ts.ClassElement;
        const isStatic = ts.canHaveModifiers(member)
          ? (ts.getModifiers(member) ?? []).some((m) => m.kind === ts.SyntaxKind.StaticKeyword)
          : false;
        if (isStatic || ts.isClassStaticBlockDeclaration(member)) return undefined;
        return this.loggerMember(parent);
      }
      // a plain function rebinds `this`; arrows and class members do not
      if (
        (ts.isFunctionDeclaration(current) || ts.isFunctionExpression(current)) &&
        !ts.isClassLike(parent)
      )
        return undefined;
      current = parent;
    }
    return undefined;
  }

  private loggerMember(classNode: ts.ClassLikeDeclaration): LoggerRef | undefined {
    for (const member of classNode.members) {
      if (ts.isPropertyDeclaration(member) && ts.isIdentifier(member.name)) {
        const flavor = this.loggerFlavor(member.type, member.initializer);
        if (flavor) return { expression: `this.${member.name.text}`, flavor };
      }
      if (ts.isConstructorDeclaration(member)) {
        for (const parameter of member.parameters) {
          const isProperty = (ts.getModifiers(parameter) ?? []).length > 0;
          if (!isProperty || !ts.isIdentifier(parameter.name)) continue;
          const flavor = this.loggerFlavor(parameter.type, undefined);
          if (flavor) return { expression: `this.${parameter.name.text}`, flavor };
        }
      }
    }
    return undefined;
  }

  private loggerFlavor(
    type: ts.TypeNode | undefined,
    initializer: ts.Expression | undefined,
  ): LoggerRef['flavor'] | undefined {
    if (type && ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName)) {
      const name = type.typeName.text;
      if (!LOGGER_TYPES.has(name)) return undefined;
      if (name === 'LoggerService') return 'nest';
      if (name === 'Logger' && NEST_LOGGER_MODULES.has(this.importSource('Logger') ?? ''))
        return 'nest';
      return 'pino';
    }
    if (
      initializer &&
      ts.isNewExpression(initializer) &&
      initializer.expression.getText() === 'Logger'
    )
      return 'nest';
    if (initializer && ts.isCallExpression(initializer) && this.isGetLoggerCall(initializer))
      return 'pino';
    return undefined;
  }

  private importSource(name: string): string | undefined {
    for (const statement of this.sourceFile.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier))
        continue;
      const bindings = statement.importClause?.namedBindings;
      if (
        bindings &&
        ts.isNamedImports(bindings) &&
        bindings.elements.some((e) => e.name.text === name)
      )
        return statement.moduleSpecifier.text;
    }
    return undefined;
  }

  private isGetLoggerCall(node: ts.CallExpression): boolean {
    const callee = node.expression;
    return (
      (ts.isIdentifier(callee) && callee.text === this.getLoggerName()) ||
      (ts.isPropertyAccessExpression(callee) && callee.name.text === 'getLogger')
    );
  }

  /** A top-level `const x = getLogger(...)` already in the file. */
  private existingModuleLogger(): string | undefined {
    for (const statement of this.sourceFile.statements) {
      if (!ts.isVariableStatement(statement)) continue;
      for (const declaration of statement.declarationList.declarations) {
        if (
          ts.isIdentifier(declaration.name) &&
          declaration.initializer &&
          ts.isCallExpression(declaration.initializer) &&
          this.isGetLoggerCall(declaration.initializer)
        )
          return declaration.name.text;
      }
    }
    return undefined;
  }

  /** Call sites that use the module logger, to pick a name nothing shadows there. */
  private readonly moduleLoggerSites: ts.Node[] = [];

  private moduleLoggerName(): string {
    return this.moduleLogger ?? MODULE_LOGGER_PLACEHOLDER;
  }

  /** `logger`, unless the file already uses that name at top level or around a call site. */
  private chooseModuleLoggerName(): string {
    const topLevel = new Set<string>();
    for (const statement of this.sourceFile.statements) declaredIn(statement, topLevel);
    const taken = (name: string): boolean =>
      topLevel.has(name) || this.moduleLoggerSites.some((site) => visibleLocally(name, site));
    const candidates = ['logger', 'moduleLogger', 'fileLogger'];
    for (let n = 2; candidates.length < 50; n += 1) candidates.push(`logger${n}`);
    return candidates.find((name) => !taken(name)) ?? 'logger';
  }

  /** The local name `getLogger` is imported under from the logging module, if it is. */
  private getLoggerName(): string {
    for (const statement of this.sourceFile.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier))
        continue;
      if (statement.moduleSpecifier.text !== this.options.importModule) continue;
      const bindings = statement.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) {
        const element = bindings.elements.find(
          (e) => (e.propertyName ?? e.name).getText(this.sourceFile) === 'getLogger',
        );
        if (element) return element.name.text;
      }
      if (bindings && ts.isNamespaceImport(bindings)) return `${bindings.name.text}.getLogger`;
    }
    return 'getLogger';
  }

  /** Adds the import (unless present) and one `const logger = getLogger('<Context>')` after the imports. */
  private addModuleLogger(): void {
    const statements = this.sourceFile.statements;
    const module = this.options.importModule;
    const commonJs = /\.c?js$/.test(this.fileName) && !statements.some(ts.isImportDeclaration);
    const isImport = (statement: ts.Statement): boolean =>
      ts.isImportDeclaration(statement) ||
      ts.isImportEqualsDeclaration(statement) ||
      (commonJs &&
        ts.isVariableStatement(statement) &&
        /^\s*(const|let|var)\s[^=]+=\s*require\(/.test(statement.getText(this.sourceFile)));
    let lastImport: ts.Statement | undefined;
    for (const statement of statements) {
      if (isImport(statement)) lastImport = statement;
      else if (!isPrologue(statement)) break;
    }

    const existingImport = statements.find(
      (s): s is ts.ImportDeclaration =>
        ts.isImportDeclaration(s) &&
        ts.isStringLiteral(s.moduleSpecifier) &&
        s.moduleSpecifier.text === module,
    );
    const localGetLogger = this.getLoggerName();
    let importText = '';
    if (commonJs) {
      importText = `const { getLogger } = require('${module}');\n`;
    } else if (!existingImport) {
      importText = `import { getLogger } from '${module}';\n`;
    } else {
      const bindings = existingImport.importClause?.namedBindings;
      const hasGetLogger =
        localGetLogger !== 'getLogger' ||
        (bindings &&
          ts.isNamedImports(bindings) &&
          bindings.elements.some((e) => e.name.text === 'getLogger'));
      if (!hasGetLogger) {
        if (bindings && ts.isNamedImports(bindings) && bindings.elements.length > 0) {
          const last = bindings.elements[bindings.elements.length - 1];
          this.edits.push({ start: last.getEnd(), end: last.getEnd(), text: ', getLogger' });
        } else {
          importText = `import { getLogger } from '${module}';\n`;
        }
      }
    }

    const declaration = `const ${this.moduleLoggerName()} = ${localGetLogger}('${this.contextName()}');\n`;
    if (lastImport) {
      const at = lastImport.getEnd();
      const lineEnd = this.sourceFile.text.indexOf('\n', at);
      const insertAt = lineEnd === -1 ? this.sourceFile.text.length : lineEnd + 1;
      const lead = lineEnd === -1 ? '\n' : '';
      this.edits.push({
        start: insertAt,
        end: insertAt,
        text: `${lead}${importText}\n${declaration}`,
      });
    } else {
      const first = statements.find((statement) => !isPrologue(statement));
      const at = first ? first.getStart(this.sourceFile) : this.sourceFile.text.length;
      this.edits.push({
        start: at,
        end: at,
        text: `${importText}${importText ? '\n' : ''}${declaration}\n`,
      });
    }
  }

  /** `UserService` for a file declaring that class, else the file name in PascalCase. */
  private contextName(): string {
    const firstClass = this.sourceFile.statements.find(ts.isClassDeclaration);
    if (firstClass?.name) return firstClass.name.text;
    let name = basename(this.fileName).replace(/\.[cm]?[jt]sx?$/, '');
    if (name === 'index' || name === 'main') name = basename(dirname(this.fileName));
    const pascal = name
      .split(/[^A-Za-z0-9]+/)
      .filter(Boolean)
      .map((part) => part[0].toUpperCase() + part.slice(1))
      .join('');
    return pascal || 'App';
  }

  /** The logger call replacing `console.<method>(args)`. */
  private callText(logger: LoggerRef, level: string, args: ts.NodeArray<ts.Expression>): string {
    const messageIndex = args.findIndex((arg) => isStringLike(arg));
    const message = messageIndex >= 0 ? args[messageIndex].getText(this.sourceFile) : undefined;
    const rest = args.filter((_, index) => index !== messageIndex);
    const onlyObject =
      message === undefined && rest.length === 1 && ts.isObjectLiteralExpression(rest[0]);
    const fields = onlyObject ? rest[0].getText(this.sourceFile) : this.fieldsText(rest, args);

    if (logger.flavor === 'nest') {
      const method = NEST_METHODS[level];
      const parts = [message ?? (fields ? "''" : "''")];
      if (fields) parts.push(fields);
      return `${logger.expression}.${method}(${parts.join(', ')})`;
    }
    const parts: string[] = [];
    if (fields) parts.push(fields);
    if (message !== undefined) parts.push(message);
    if (parts.length === 0) parts.push("''");
    return `${logger.expression}.${level}(${parts.join(', ')})`;
  }

  /** `{ userId, err: error, arg2: count + 1 }`: every argument kept, each under a name. */
  private fieldsText(rest: ts.Expression[], all: ts.NodeArray<ts.Expression>): string | undefined {
    if (rest.length === 0) return undefined;
    const used = new Set<string>();
    const unique = (key: string): string => {
      let candidate = RESERVED_KEYS.has(key) ? `${key}Value` : key;
      for (let n = 2; used.has(candidate); n += 1) candidate = `${key}${n}`;
      used.add(candidate);
      return candidate;
    };
    const parts = rest.map((arg) => {
      const text = arg.getText(this.sourceFile);
      if (ts.isSpreadElement(arg)) return `${unique('args')}: [${text}]`;
      if (ts.isObjectLiteralExpression(arg)) {
        return arg.properties.map((property) => property.getText(this.sourceFile)).join(', ');
      }
      const name = nameOf(arg);
      if (name && ERROR_NAME.test(name)) {
        const key = unique('err');
        return key === text ? key : `${key}: ${text}`;
      }
      if (ts.isNewExpression(arg) && /Error$/.test(arg.expression.getText(this.sourceFile)))
        return `${unique('err')}: ${text}`;
      if (name) {
        const key = unique(name);
        return key === text ? key : `${key}: ${text}`;
      }
      return `${unique(`arg${all.indexOf(arg) + 1}`)}: ${text}`;
    });
    return `{ ${parts.join(', ')} }`;
  }

  /** `promise.catch(console.error)` → a function with the same effect. */
  private callbackText(logger: LoggerRef, level: string): string {
    const typed = !/\.[cm]?jsx?$/.test(this.fileName);
    const parameter = level === 'error' ? 'error' : 'value';
    const declared = typed ? `(${parameter}: unknown)` : `(${parameter})`;
    if (logger.flavor === 'nest')
      return `${declared} => ${logger.expression}.${NEST_METHODS[level]}(String(${parameter}))`;
    const field = level === 'error' ? `{ err: ${parameter} }` : `{ ${parameter} }`;
    return `${declared} => ${logger.expression}.${level}(${field})`;
  }
}

const MODULE_LOGGER_PLACEHOLDER = '\u0000logger\u0000';

/** Adds the names `statement` declares in its own scope to `names`. */
function addBinding(name: ts.BindingName, names: Set<string>): void {
  if (ts.isIdentifier(name)) names.add(name.text);
  else
    for (const element of name.elements)
      if (!ts.isOmittedExpression(element)) addBinding(element.name, names);
}

function declaredIn(statement: ts.Node, names: Set<string>): void {
  const add = (name: ts.BindingName): void => addBinding(name, names);
  if (ts.isVariableStatement(statement))
    statement.declarationList.declarations.forEach((d) => add(d.name));
  else if (ts.isVariableDeclarationList(statement))
    statement.declarations.forEach((d) => add(d.name));
  else if (
    (ts.isFunctionDeclaration(statement) ||
      ts.isClassDeclaration(statement) ||
      ts.isEnumDeclaration(statement)) &&
    statement.name
  )
    names.add(statement.name.text);
  else if (ts.isImportDeclaration(statement) && statement.importClause) {
    const clause = statement.importClause;
    if (clause.name) names.add(clause.name.text);
    const bindings = clause.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
    if (bindings && ts.isNamedImports(bindings))
      bindings.elements.forEach((e) => names.add(e.name.text));
  } else if (ts.isImportEqualsDeclaration(statement)) names.add(statement.name.text);
}

/** Whether `name` is declared in a scope enclosing `node` below the module (a parameter, a local…). */
function visibleLocally(name: string, node: ts.Node): boolean {
  for (let current = node.parent; current && !ts.isSourceFile(current); current = current.parent) {
    const names = new Set<string>();
    if (ts.isFunctionLike(current)) {
      for (const parameter of current.parameters) addBinding(parameter.name, names);
      if ((ts.isFunctionExpression(current) || ts.isClassExpression(current)) && current.name)
        names.add(current.name.text);
    }
    if (
      ts.isBlock(current) ||
      ts.isModuleBlock(current) ||
      ts.isCaseClause(current) ||
      ts.isDefaultClause(current)
    )
      for (const statement of current.statements) declaredIn(statement, names);
    if (ts.isCatchClause(current) && current.variableDeclaration)
      addBinding(current.variableDeclaration.name, names);
    if (
      (ts.isForStatement(current) ||
        ts.isForInStatement(current) ||
        ts.isForOfStatement(current)) &&
      current.initializer &&
      ts.isVariableDeclarationList(current.initializer)
    )
      declaredIn(current.initializer, names);
    if (names.has(name)) return true;
  }
  return false;
}

function isPrologue(statement: ts.Statement): boolean {
  return ts.isExpressionStatement(statement) && ts.isStringLiteral(statement.expression);
}

/** An expression that is a string by its syntax alone (no type checker needed). */
function isStringLike(node: ts.Expression): boolean {
  if (ts.isStringLiteralLike(node) || ts.isTemplateExpression(node)) return true;
  if (ts.isParenthesizedExpression(node)) return isStringLike(node.expression);
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken)
    return isStringLike(node.left) || isStringLike(node.right);
  if (ts.isAsExpression(node)) return node.type.kind === ts.SyntaxKind.StringKeyword;
  if (ts.isCallExpression(node)) {
    const callee = node.expression;
    if (ts.isIdentifier(callee)) return callee.text === 'String';
    if (ts.isPropertyAccessExpression(callee))
      return (
        STRING_METHODS.has(callee.name.text) ||
        (callee.name.text === 'stringify' && callee.expression.getText() === 'JSON')
      );
  }
  return false;
}

/** The name a field should take from an argument: `user` for `user`, `id` for `req.params.id`. */
function nameOf(node: ts.Expression): string | undefined {
  if (ts.isIdentifier(node)) return node.text;
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  if (ts.isNonNullExpression(node) || ts.isParenthesizedExpression(node))
    return nameOf(node.expression);
  return undefined;
}
