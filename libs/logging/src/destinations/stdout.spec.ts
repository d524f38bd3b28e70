import { EventEmitter } from 'node:events';
import { TurnBatchedLines } from './stdout';

/** What TurnBatchedLines needs of sonic-boom, recording each write. */
class FakeSonicBoom extends EventEmitter {
  writes: string[] = [];
  ended = false;
  destroyed = false;
  write(data: string): boolean {
    this.writes.push(data);
    return true;
  }
  end(): void {
    this.ended = true;
    setImmediate(() => this.emit('close'));
  }
  destroy(): void {
    this.destroyed = true;
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('TurnBatchedLines', () => {
  function open() {
    const target = new FakeSonicBoom();
    const lines = new TurnBatchedLines(target as never);
    return { target, lines };
  }

  it("hands the target a turn's lines in one write, in order", async () => {
    const { target, lines } = open();
    for (let i = 1; i <= 5; i++) lines.write(`line ${i}\n`);
    // the first line goes at once; the rest of the turn waits for its end
    expect(target.writes).toEqual(['line 1\n']);
    await nextTurn();
    await nextTurn();
    expect(target.writes).toEqual(['line 1\n', 'line 2\nline 3\nline 4\nline 5\n']);
    lines.write('line 6\n');
    await nextTurn();
    await nextTurn();
    expect(target.writes.join('')).toBe(
      Array.from({ length: 6 }, (_, i) => `line ${i + 1}\n`).join(''),
    );
  });

  it('writes every buffered line before it ends the target, then finishes', async () => {
    const { target, lines } = open();
    lines.write('a\n');
    lines.write('b\n');
    lines.write('c\n');
    const finished = new Promise((resolve) => lines.once('finish', resolve));
    lines.end();
    await finished;
    expect(target.writes.join('')).toBe('a\nb\nc\n');
    expect(target.ended).toBe(true);
  });

  it("fails with the target's error", async () => {
    const { target, lines } = open();
    const failed = new Promise<Error>((resolve) => lines.once('error', resolve));
    target.emit('error', new Error('EPIPE'));
    expect((await failed).message).toBe('EPIPE');
    expect(target.destroyed).toBe(true);
  });
});
