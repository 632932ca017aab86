export { REVERSE_VOCAB, reverseBatch } from '../../src/train/selftest';
