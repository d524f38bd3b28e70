import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_GLOSSARY, Glossary, Translator, i18nTransform } from '../src/i18n';
import { parse, readJson } from '../src/runner';
import { detectSpanish } from '../src/spanish';
import {
  FIXTURES,
  ROOT,
  copyFixture,
  removeCopies,
  run,
  runCli,
  snapshot,
} from './codemod-helpers';

const transform = i18nTransform();
const translator = new Translator(readJson<Glossary>(DEFAULT_GLOSSARY));

afterAll(removeCopies);

describe('Spanish detector', () => {
  it.each([
    'Usuario no encontrado',
    'Error al crear el pedido',
    'No se pudo conectar a la base de datos',
    '¿Está seguro?',
    'La contraseña es obligatoria',
    'Demasiadas solicitudes, intente más tarde',
    'El archivo no existe',
    'Acceso denegado',
    'Credenciales inválidas',
    'Tiempo de espera agotado',
  ])('flags %p', (message) => {
    expect(detectSpanish(message).spanish).toBe(true);
  });
});

describe('glossary translation', () => {
  it.each([
    ['Usuario no encontrado', 'Error finding user: user not found'],
    ['Error al crear el usuario', 'Error creating user: could not create user'],
    ['Error al actualizar el pedido: \uE0000\uE001', 'Error updating order: \uE0000\uE001'],
    [
      'No se pudo eliminar el archivo \uE0000\uE001',
      'Error deleting file \uE0000\uE001: could not delete file \uE0000\uE001',
    ],
    ['No se pudo conectar a Redis', 'Error connecting to Redis: could not connect to Redis'],
    ['Error al procesar la solicitud.', 'Error processing request: could not process request.'],
    ['Token inválido', 'Error validating token: invalid token'],
    ['El campo \uE0000\uE001 es requerido', 'Error validating input: \uE0000\uE001 is required'],
    ['La cuenta ya existe', 'Error creating account: account already exists'],
    ['No autorizado', 'Error authorizing request: unauthorized'],
    ['Acceso denegado', 'Error authorizing request: access denied'],
    ['Credenciales inválidas', 'Error authenticating user: invalid credentials'],
    ['Error interno del servidor', 'Error processing request: internal server error'],
    ['Demasiadas solicitudes, intente más tarde', 'Error processing request: too many requests'],
    [
      'Generación \uE0000\uE001 no encontrada',
      'Error finding generation: generation \uE0000\uE001 not found',
    ],
  ])('%p → %p', (spanish, english) => {
    expect(translator.translate(spanish)).toBe(english);
  });

  it('knows nothing it has no entry for', () => {
    expect(translator.translate('El cohete despegó con retraso')).toBeUndefined();
  });
});

describe('codemod:i18n', () => {
  it('replaces the known messages, keeps placeholders in order, and reports the unknown with its line', () => {
    const dir = copyFixture('i18n');
    const result = run(transform, dir);
    const source = readFileSync(join(dir, 'src/orders.service.ts'), 'utf8');

    expect(source).toContain(
      'throw new NotFoundException(`Error finding order: order ${orderId} not found`);',
    );
    expect(source).toContain('`Error creating order ${name}: ${cause.message}`');
    expect(source).toContain(
      "new AppException('VALIDATION_FAILED', 'Error validating input: name is required')",
    );
    expect(source).toContain(
      "throw new Error('Error connecting to database: could not connect to database');",
    );
    expect(source).toContain("return { message: 'Error creating user: user already exists' };");
    expect(source).toContain("new BadRequestException('Error processing request: ' + detail)");
    expect(source).toContain("throw new Error('Error finding order: order not found');"); // English left as it was

    expect(result.stdout).toEqual(
      expect.arrayContaining([
        "src/orders.service.ts:32:21  'El cohete despegó con retraso por culpa del viento'  needs a person: no glossary entry fits",
        expect.stringMatching(
          /^src\/orders\.service\.ts:9:\d+ {2}`Pedido \$\{orderId\} no encontrado para el cliente \$\{customerId\}` {2}needs a person/,
        ),
      ]),
    );
    expect(result.stdout.at(-1)).toBe('codemod: 2 files scanned, 8 findings, 1 changed');

    // idempotent: the second run changes nothing and still lists what needs a person
    const before = snapshot(dir);
    const second = run(transform, dir);
    expect(second.changed).toBe(0);
    expect(second.findings).toBe(2);
    expect(snapshot(dir)).toEqual(before);
  });

  it('writes nothing in a dry run', () => {
    const dir = copyFixture('i18n');
    const before = snapshot(dir);
    const result = run(transform, dir, { dryRun: true });
    expect(result.findings).toBe(8);
    expect(snapshot(dir)).toEqual(before);
  });

  it('finds nothing in a corpus of over 100 English messages nor in the project itself', () => {
    const corpusFile = join(FIXTURES, 'i18n/english-corpus.ts');
    const corpus = parse(corpusFile, readFileSync(corpusFile, 'utf8'));
    const messages = corpus.text.match(/^\s+(logger\.\w+\(|if \(step)/gm) ?? [];
    expect(messages.length).toBeGreaterThanOrEqual(100);
    expect(transform(corpus, corpusFile).findings).toEqual([]);

    const project = run(transform, ROOT, { paths: ['apps', 'libs'], check: true });
    expect(project.filesScanned).toBeGreaterThan(50);
    expect(project.findings).toBe(0);
  });

  it('--check exits 1 on Spanish messages and 0 on English ones', () => {
    const dir = copyFixture('i18n');
    const dirty = runCli('i18n', ['src', '--check'], dir);
    expect(dirty.status).toBe(1);
    expect(dirty.stdout).toContain('codemod:i18n: 1 files scanned, 8 findings, 1 would change');
    const clean = runCli('i18n', ['english-corpus.ts', '--check'], dir);
    expect(clean.stdout).toContain('codemod:i18n: 1 files scanned, 0 findings, 0 would change');
    expect(clean.status).toBe(0);
  });
});
