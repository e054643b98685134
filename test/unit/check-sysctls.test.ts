import { describe, expect, it } from 'vitest';
import { checkSysctls } from '../../src/plan/check-sysctls.js';

const ns = (...types: ('net' | 'ipc' | 'uts' | 'mount')[]) => types.map((type) => ({ type }));

describe('checkSysctls: only keys a namespace of the container scopes (runc\'s validator)', () => {
  it('takes net.* in a network namespace, ipc keys in an ipc namespace, kernel.domainname in a uts namespace', () => {
    expect(() => checkSysctls({ 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1', 'fs.mqueue.queues_max': '1', 'kernel.domainname': 'x' }, ns('net', 'ipc', 'uts'))).not.toThrow();
    expect(() => checkSysctls({ 'net.ipv4.ping_group_range': '0 0' }, [{ type: 'net', path: '/run/netns/x' }])).not.toThrow();
  });

  it('refuses a key no namespace scopes, which would change the host', () => {
    expect(() => checkSysctls({ 'vm.swappiness': '10' }, ns('net', 'ipc', 'uts', 'mount'))).toThrow('config.json: linux.sysctl "vm.swappiness" is not in a separate kernel namespace');
    expect(() => checkSysctls({ 'net.ipv4.ip_forward': '1' }, ns('mount'))).toThrow('is not allowed in the host\'s network namespace');
    expect(() => checkSysctls({ 'kernel.msgmax': '1' }, ns('mount'))).toThrow('is not allowed in the host\'s ipc namespace');
    expect(() => checkSysctls({ 'kernel.hostname': 'x' }, ns('uts'))).toThrow('the config\'s hostname value must be used instead');
  });

  it('refuses a key that would climb out of /proc/sys/net', () => {
    expect(() => checkSysctls({ 'net.x/../../vm.swappiness': '1' }, ns('net'))).toThrow('is not a sysctl name');
    expect(() => checkSysctls({ 'net..vm': '1' }, ns('net'))).toThrow('is not a sysctl name');
  });
});
