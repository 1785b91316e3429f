#!/usr/bin/env node
// The `ykt` command. TypeScript sources run through tsx's loader, so that county IT installs nothing else.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
