/** The registry's vocabularies, with the labels the screens and files use. */
export const RELATIONS = { head: '户主', spouse: '配偶', child: '子女', parent: '父母', grandchild: '孙子女', other: '其他' } as const;
export type Relation = keyof typeof RELATIONS;
export const STATUSES = { active: '在册', deceased: '死亡', moved: '迁出', cancelled: '注销' } as const;
export type PersonStatus = keyof typeof STATUSES;
