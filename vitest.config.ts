import { defineConfig } from 'vitest/config';
import { opTablePlugin } from './scripts/lib/op-table.mjs';

// Unit tests of pure logic in node; browser tests live in test/browser (Playwright).
export default defineConfig({
  // `inpage:op-table` for the command line's sources (src/cli), as the build makes it.
  plugins: [opTablePlugin()],
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
  },
});
