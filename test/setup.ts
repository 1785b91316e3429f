import { afterEach, expect } from 'vitest';
import { takeFormContractViolations } from './form-contract.ts';

// Every 422 page a test produced keeps the form contract (test/form-contract.ts).
afterEach(() => {
  expect(takeFormContractViolations(), 'form contract of the 422 pages this test produced').toEqual([]);
});
