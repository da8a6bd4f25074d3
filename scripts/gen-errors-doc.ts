import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '../src/shared/errors-doc.js';

const file = new URL('../docs/ERRORS.md', import.meta.url);
writeFileSync(file, renderErrorsDoc());
console.log(`wrote ${file.pathname}`);
