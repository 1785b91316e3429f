import type { ColumnMappingKind } from '../../core/column-mapping.ts';
import { REGISTRY_MAPPABLE_COLUMNS } from './files.ts';
import { can } from './policy.ts';
import { REFERENCE_SOURCES, type ReferenceSource, referenceFileKind, referenceMappableColumns } from './reference.ts';
import { REGISTRY_FILE_KIND } from './registry-import.ts';

/**
 * The registry's files whose unknown headers a region may map to their columns (core/column-mapping.ts): the
 * township's registry file (by its station), and each source of reference data (by the county's finance section).
 */
export const REGISTRY_MAPPING: ColumnMappingKind = {
  kind: REGISTRY_FILE_KIND,
  label: '受益对象导入',
  columns: REGISTRY_MAPPABLE_COLUMNS,
  uploadHref: '/beneficiaries/import',
  may: (actor) => can(actor, 'map_registry_columns', null),
};

export function referenceMapping(source: ReferenceSource): ColumnMappingKind {
  return {
    kind: referenceFileKind(source),
    label: `部门共享数据导入（${REFERENCE_SOURCES[source].label}）`,
    columns: referenceMappableColumns(source),
    uploadHref: '/beneficiaries/reference',
    may: (actor) => can(actor, 'load_reference', null),
  };
}

export const BENEFICIARY_MAPPINGS: ColumnMappingKind[] = [REGISTRY_MAPPING, ...(Object.keys(REFERENCE_SOURCES) as ReferenceSource[]).map(referenceMapping)];
