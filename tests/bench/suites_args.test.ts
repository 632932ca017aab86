import { describe, expect, it } from 'vitest';
import { parseSuitesArgs } from '../../bench/suites';

describe('npm run bench -- suites: options', () => {
  it('defaults to the paper-scale Sokoban suite set at 32 decoder rows', () => {
    const a = parseSuitesArgs([]);
    expect([a.task, a.scale, a.size, a.rows, a.maxActions, a.maxNewTokens, a.variants, a.sftSteps, a.apart]).toEqual([
      'sokoban',
      'paper',
      32,
      [32],
      null,
      null,
      null,
      0,
      false,
    ]);
  });

  it('reads every option', () => {
    const a = parseSuitesArgs(
      [
        '--task',
        'general_points',
        '--scale',
        'smoke',
        '--size',
        '4',
        '--max-actions',
        '3',
        '--max-new-tokens',
        '9',
      ].concat(['--rows', '8,64', '--variants', 'id,face_5', '--sft-steps', '2', '--apart', '--out', 'x.json']),
    );
    expect(a).toEqual({
      task: 'general_points',
      scale: 'smoke',
      size: 4,
      maxActions: 3,
      maxNewTokens: 9,
      rows: [8, 64],
      variants: ['id', 'face_5'],
      sftSteps: 2,
      apart: true,
      out: 'x.json',
    });
  });

  it('names a bad option and its value', () => {
    expect(() => parseSuitesArgs(['--task', 'arithmetic'])).toThrow(/--task takes sokoban or general_points/);
    expect(() => parseSuitesArgs(['--scale', 'huge'])).toThrow(/--scale takes paper, software, smoke/);
    expect(() => parseSuitesArgs(['--size', '0'])).toThrow(/--size takes an integer ≥ 1, got 0/);
    expect(() => parseSuitesArgs(['--rows', '32,x'])).toThrow(/--rows takes an integer ≥ 1, got x/);
    expect(() => parseSuitesArgs(['--sft-steps', '-1'])).toThrow(/--sft-steps/);
    expect(() => parseSuitesArgs(['--variants', 'id,nope'])).toThrow(/sokoban has no variant 'nope'/);
    expect(() => parseSuitesArgs(['--out'])).toThrow(/--out takes a file name/);
    expect(() => parseSuitesArgs(['--fast'])).toThrow(/unknown option --fast/);
  });
});
