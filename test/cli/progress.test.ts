import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatDuration, formatStatus, MovingRate, plural, Progress } from '../../src/cli/progress.js';

describe('CLI progress', () => {
  function capture(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
    const stream: PassThrough & { isTTY?: boolean; columns?: number } = new PassThrough();
    stream.isTTY = isTTY;
    stream.columns = 120;
    let text = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    return { stream, text: () => text };
  }

  it('shows progress as plain lines off a terminal', async () => {
    const { stream, text } = capture(false);
    const progress = new Progress({ stream, mode: 'lines', intervalMs: 60_000 });
    progress.start(3);
    progress.advance(true);
    progress.log('tokenbatch: a message');
    progress.advance(false);
    progress.advance(true);
    progress.stop();
    await new Promise((resolve) => setImmediate(resolve));
    const lines = text().split('\n');
    expect(lines[0]).toMatch(/^tokenbatch: 0\/3 lines \(0%\), 0 failed, .*ETA \?$/);
    expect(lines[1]).toBe('tokenbatch: a message');
    expect(lines[2]).toMatch(/^tokenbatch: 3\/3 lines \(100%\), 1 failed, /);
    expect(lines.slice(3)).toEqual(['']);
    expect(text()).not.toContain('\u001b[');
  });

  it('draws a bar with an ETA on a terminal, and prints messages above it', async () => {
    const { stream, text } = capture(true);
    const progress = new Progress({ stream, mode: 'bar' });
    progress.start(4);
    progress.advance(true);
    progress.log('tokenbatch: a message');
    progress.advance(true);
    progress.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(text()).toContain('\u001b[');
    expect(text()).toContain('\r\u001b[2Ktokenbatch: a message\n');
    expect(text()).toMatch(/tokenbatch \[[=-]+\] 50% \| 2\/4 lines \| 0 failed \| [\d.?]+\/s \| ETA (\d+s|\?)/);
    expect(text().endsWith('\n')).toBe(true);
    // A bar asked for where there is no terminal falls back to lines.
    const plain = capture(false);
    const fallback = new Progress({ stream: plain.stream, mode: 'bar' });
    fallback.start(1);
    fallback.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(plain.text()).toMatch(/^tokenbatch: 0\/1 line /);
  });

  it('fits the status line to the terminal, never wrapping it', () => {
    const fields = { value: 1234, total: 20_000, failed: 3, rate: 41.7 };
    const wide = formatStatus(fields, 200, true);
    expect(wide).toBe('tokenbatch [=-------------------] 6% | 1234/20000 lines | 3 failed | 41.7/s | ETA 7m30s');
    for (const width of [120, 80, 60, 40, 30, 20, 12]) {
      const line = formatStatus(fields, width, true);
      expect(line.length, `${width}: ${line}`).toBeLessThan(width);
      expect(line).toContain('6%');
    }
    expect(formatStatus(fields, 80, true).length).toBeLessThan(80);
    expect(formatStatus(fields, 40, true)).toBe('6% 1234/20000 lines 3 failed ETA 7m30s');
    // Off a terminal: a plain sentence, whatever the width.
    expect(formatStatus(fields, 20, false)).toBe('tokenbatch: 1234/20000 lines (6%), 3 failed, 41.7/s, ETA 7m30s');
  });

  it('speaks proper English: 1 line, 1 failed, an unknown ETA as ?', () => {
    expect(plural(1, 'result line')).toBe('1 result line');
    expect(plural(2, 'result line')).toBe('2 result lines');
    expect(plural(0, 'line')).toBe('0 lines');
    expect(formatStatus({ value: 0, total: 1, failed: 0, rate: undefined }, 200, false)).toBe('tokenbatch: 0/1 line (0%), 0 failed, ?/s, ETA ?');
    expect([5, 65, 3600 + 240].map(formatDuration)).toEqual(['5s', '1m05s', '1h04m']);
  });

  it('estimates from a moving rate: a burst does not make the ETA run low, and the ETA follows a slowdown', () => {
    const rate = new MovingRate({ windowMs: 30_000 });
    rate.record(0, 0);
    // 10 lines a second for 60 s, results released in bursts of 50 every 5 s (ordered results).
    for (let t = 5_000; t <= 60_000; t += 5_000) rate.record(t, t / 100);
    expect(rate.perSecond(60_000)).toBeCloseTo(10, 5);
    // Right after a burst, the rate is still the pace, not the burst.
    rate.record(60_001, 650);
    expect(rate.perSecond(60_001)).toBeLessThan(12);
    // Then the pace falls to 1 line a second: after a window, the rate (and so the ETA) follows.
    for (let t = 61_000; t <= 100_000; t += 1_000) rate.record(t, 650 + (t - 60_000) / 1000);
    expect(rate.perSecond(100_000)).toBeCloseTo(1, 1);
    // While nothing completes, the rate keeps falling.
    expect(rate.perSecond(115_000)).toBeLessThan(0.6);
  });

  it('shows the moving rate and its ETA in the status line', () => {
    let now = 0;
    const stream = Object.assign(new PassThrough(), { isTTY: false });
    const progress = new Progress({ stream, mode: 'none', now: () => now, rateWindowMs: 10_000 });
    progress.start(100);
    for (let i = 0; i < 20; i++) {
      now += 500;
      progress.advance(i !== 3);
    }
    expect(progress.status(false)).toBe('tokenbatch: 20/100 lines (20%), 1 failed, 2.0/s, ETA 40s');
    progress.stop();
  });

  it('draws no line wider than a narrow terminal', async () => {
    const { stream, text } = capture(true);
    stream.columns = 50;
    const progress = new Progress({ stream, mode: 'bar' });
    progress.start(20_000);
    for (let i = 0; i < 1234; i++) progress.advance(i % 100 !== 0);
    progress.stop();
    await new Promise((resolve) => setImmediate(resolve));
    const breaks = /\r|\n|\u001b\[[0-9;?]*[A-Za-z]/; // eslint-disable-line no-control-regex
    const drawn = text()
      .split(breaks)
      .filter((line) => line.trim() !== '');
    expect(drawn.length).toBeGreaterThan(0);
    for (const line of drawn) expect(line.length, line).toBeLessThan(50);
    expect(drawn.at(-1)).toMatch(/6% 1234\/20000 lines 13 failed/);
  });
});
