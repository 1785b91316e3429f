/**
 * Errors that commands throw and the HTTP layer turns into Chinese pages with the right status.
 * Messages are shown to the user: Chinese, no internals.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class NotFoundError extends AppError {
  constructor(message = '页面或记录不存在') {
    super(404, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = '您没有执行此操作的权限') {
    super(403, message);
  }
}

/** Someone else changed the record first, or it is no longer in the state the action needs. */
export class ConflictError extends AppError {
  constructor(message = '记录已被他人修改或状态已变化，请刷新后重试') {
    super(409, message);
  }
}

/** Field-level validation failure: field name → message. Forms re-render with status 422. */
export class ValidationError extends AppError {
  constructor(
    readonly fieldErrors: Record<string, string>,
    message = '提交的内容有误，请按提示修改',
  ) {
    super(422, message);
  }
}
