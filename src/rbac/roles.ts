/** Built-in tenant roles, each a fixed permission set (least privilege: viewer < user < manager < admin). */
export const ROLES = ['viewer', 'user', 'manager', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const viewer = ['profile:read'] as const;
const user = [...viewer, 'profile:write'] as const;
const manager = [...user, 'users:read', 'sessions:manage', 'audit:read'] as const;
const admin = [...manager, 'users:manage', 'roles:manage', 'tenant:manage', 'keys:manage'] as const;

export const ROLE_PERMISSIONS = { viewer, user, manager, admin } as const satisfies Record<Role, readonly string[]>;
export type Permission = (typeof admin)[number];

export function permissionsOf(role: Role): readonly Permission[] {
  return ROLE_PERMISSIONS[role];
}

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}
