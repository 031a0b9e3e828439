import { defineConfig } from 'vitest/config';

// Unit tests of pure logic in node; browser tests live in test/browser (Playwright).
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
  },
});
