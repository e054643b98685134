// Promise versions of the node:fs calls that `run`, `exec`, `state` and the other hot verbs make, built from
// the callback API. node:fs/promises gives the same promises, but loading it costs ~4 ms per command on
// these machines (it brings readline and stream code for FileHandle's extras), which is more than all the
// work `shim state` does. Same calls, same errors (code, errno, path); only path-based calls are here:
// code that needs a FileHandle imports node:fs/promises, off the hot paths.

import * as fs from 'node:fs';
import { promisify } from 'node:util';

export const access = promisify(fs.access);
export const copyFile = promisify(fs.copyFile);
export const lstat = promisify(fs.lstat);
export const mkdir = promisify(fs.mkdir);
export const readdir = promisify(fs.readdir);
export const readFile = promisify(fs.readFile);
export const readlink = promisify(fs.readlink);
export const rename = promisify(fs.rename);
export const rm = promisify(fs.rm);
export const rmdir = promisify(fs.rmdir);
export const stat = promisify(fs.stat);
export const unlink = promisify(fs.unlink);
export const writeFile = promisify(fs.writeFile);
