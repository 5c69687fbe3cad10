// Moved to src/backends/openai/. Kept only while src/cli/run.ts imports this path (another branch
// reworks src/cli): point that import at '../openai.js' and delete this file.
export * from '../openai.js';
