import { errorCodes, type ErrorCode } from '../errors/codes.ts';
import type { Locale } from './locale.ts';

/** Message keys: an error code, or a code with a variant for a more specific text (`RATE_LIMITED.login`). */
export type MessageKey = ErrorCode | `${ErrorCode}.${string}`;
export type MessageParams = Record<string, string | number>;

const variantsEn: Record<string, string> = {
  'RATE_LIMITED.login': 'Too many login attempts. Please try again in {wait}.',
  'RATE_LIMITED.wait': 'Please wait {wait} before trying again.',
  'ACCOUNT_LOCKED.wait': 'Your account is temporarily locked. Try again in {wait} or reset your password.',
};

const ptBR: Partial<Record<string, string>> = {
  VALIDATION_ERROR: 'A requisição é inválida.',
  INVALID_JSON: 'O corpo da requisição não é um JSON válido.',
  INVALID_ENCODING: 'O corpo da requisição não está em UTF-8 válido.',
  UNSUPPORTED_MEDIA_TYPE: 'Envie o corpo da requisição como application/json.',
  PAYLOAD_TOO_LARGE: 'O corpo da requisição é grande demais.',
  NOT_FOUND: 'Não encontrado.',
  METHOD_NOT_ALLOWED: 'Método não permitido.',
  INVALID_CREDENTIALS: 'E-mail ou senha incorretos.',
  UNAUTHENTICATED: 'É preciso entrar para continuar.',
  TOKEN_INVALID: 'O token de acesso é inválido.',
  TOKEN_EXPIRED: 'Sessão expirada. Entre novamente.',
  TOKEN_REVOKED: 'O token foi revogado.',
  REFRESH_TOKEN_INVALID: 'Sessão expirada. Entre novamente.',
  REFRESH_TOKEN_REUSED: 'O token de renovação já foi usado; a sessão foi encerrada.',
  SESSION_NOT_FOUND: 'Sessão não encontrada.',
  CSRF_FAILED: 'O token CSRF está ausente ou incorreto.',
  FORBIDDEN: 'Você não tem permissão para fazer isso.',
  ACCOUNT_DISABLED: 'A conta está temporariamente desativada. Fale com o suporte.',
  LOGIN_BLOCKED: 'Este acesso parece incomum e foi bloqueado. Redefina sua senha ou fale com o suporte.',
  ACCOUNT_LOCKED: 'Sua conta está temporariamente bloqueada. Tente mais tarde ou redefina sua senha.',
  TENANT_NOT_FOUND: 'Organização não encontrada.',
  TENANT_MISMATCH: 'O token pertence a outra organização.',
  TENANT_SUSPENDED: 'Esta organização está suspensa.',
  TENANT_CANCELED: 'Esta organização foi cancelada.',
  TENANT_SLUG_TAKEN: 'Esse identificador de organização já está em uso.',
  TENANT_SLUG_INVALID: 'O identificador da organização é inválido ou reservado.',
  REGISTRATION_CLOSED: 'O cadastro não está aberto nesta organização.',
  USER_LIMIT_EXCEEDED: 'Esta organização atingiu o limite de usuários.',
  EMAIL_TAKEN: 'Já existe uma conta com esse e-mail.',
  USER_NOT_FOUND: 'Usuário não encontrado.',
  PASSWORD_POLICY: 'A senha não atende à política.',
  CURRENT_PASSWORD_INVALID: 'A senha atual está incorreta.',
  CANNOT_MODIFY_SELF: 'Você não pode fazer isso com a sua própria conta.',
  RATE_LIMITED: 'Muitas requisições. Tente novamente mais tarde.',
  'RATE_LIMITED.login': 'Muitas tentativas de login. Tente novamente em {wait}.',
  'RATE_LIMITED.wait': 'Aguarde {wait} antes de tentar novamente.',
  'ACCOUNT_LOCKED.wait': 'Sua conta está temporariamente bloqueada. Tente novamente em {wait} ou redefina sua senha.',
  SERVER_BUSY: 'Serviço temporariamente indisponível. Tente novamente mais tarde.',
  WEBAUTHN_CHALLENGE_INVALID: 'A solicitação de chave de acesso expirou ou já foi usada. Comece de novo.',
  WEBAUTHN_VERIFICATION_FAILED: 'Não foi possível registrar a chave de acesso.',
  WEBAUTHN_AUTHENTICATION_FAILED: 'Não foi possível verificar a chave de acesso.',
  WEBAUTHN_CREDENTIAL_NOT_FOUND: 'Chave de acesso não encontrada.',
  WEBAUTHN_CREDENTIAL_EXISTS: 'Esta chave de acesso já está registrada.',
  WEBAUTHN_CREDENTIAL_LIMIT: 'Você atingiu o número máximo de chaves de acesso.',
  REAUTHENTICATION_REQUIRED: 'Entre novamente para fazer isso.',
  INTERNAL_ERROR: 'Algo deu errado do nosso lado.',
  MFA_CODE_INVALID: 'O código de verificação está incorreto ou já foi usado.',
  MFA_TOKEN_INVALID: 'A tentativa de acesso é inválida ou já foi concluída. Entre novamente.',
  MFA_TOKEN_EXPIRED: 'A tentativa de acesso expirou. Entre novamente.',
  MFA_REQUIRED: 'Configure a autenticação em dois fatores para fazer isso.',
  STEP_UP_REQUIRED: 'Confirme que é você com o seu segundo fator para continuar.',
  MFA_ALREADY_ENROLLED: 'Já existe um aplicativo autenticador configurado. Remova-o primeiro.',
  MFA_ENROLLMENT_NOT_FOUND: 'Nenhuma configuração de autenticador em andamento, ou ela expirou. Comece de novo.',
  MFA_NOT_ENROLLED: 'Esse segundo fator não está configurado.',
  CLIENT_NOT_FOUND: 'Cliente OAuth não encontrado.',
  EMAIL_TOKEN_INVALID: 'Este link ou código é inválido.',
  EMAIL_TOKEN_EXPIRED: 'Este link ou código expirou. Peça um novo.',
  EMAIL_TOKEN_USED: 'Este link ou código já foi usado ou foi substituído por um mais novo.',
  EMAIL_TOKEN_WRONG_PURPOSE: 'Este link ou código não serve para esta ação.',
  EMAIL_CODE_ATTEMPTS_EXCEEDED: 'Códigos errados demais. Peça um novo.',
  EMAIL_NOT_VERIFIED: 'Confirme seu endereço de e-mail antes de entrar.',
  PASSWORDLESS_DISABLED: 'O acesso por e-mail não está habilitado nesta organização.',
  INVITATION_NOT_FOUND: 'Convite não encontrado.',
  INVITATION_REVOKED: 'Este convite foi cancelado.',
  INVITATION_NOT_PENDING: 'Este convite já foi aceito ou cancelado.',
  APPLICATION_NOT_FOUND: 'Este aplicativo não tem acesso à sua conta.',
};

const units = {
  en: { second: ['second', 'seconds'], minute: ['minute', 'minutes'] },
  'pt-BR': { second: ['segundo', 'segundos'], minute: ['minuto', 'minutos'] },
} as const;

/** "5 minutes" / "5 minutos", rounded up: how long to wait, for people. */
export function humanDuration(locale: Locale, seconds: number): string {
  const u = units[locale];
  if (seconds < 60) {
    const s = Math.max(1, Math.ceil(seconds));
    return `${s} ${u.second[s === 1 ? 0 : 1]}`;
  }
  const m = Math.ceil(seconds / 60);
  return `${m} ${u.minute[m === 1 ? 0 : 1]}`;
}

function template(locale: Locale, key: string): string | undefined {
  if (locale === 'pt-BR') return ptBR[key];
  return variantsEn[key] ?? (errorCodes as Record<string, { message: string }>)[key]?.message;
}

/** A localized message; `waitSeconds` in params becomes a localized `{wait}`. Falls back to English, then the code's base text. */
export function translate(locale: Locale, key: MessageKey, params: MessageParams = {}): string {
  const code = key.split('.')[0] as ErrorCode;
  const text = template(locale, key) ?? template(locale, code) ?? template('en', key) ?? errorCodes[code].message;
  const values: MessageParams = { ...params };
  if (typeof params.waitSeconds === 'number') values.wait = humanDuration(locale, params.waitSeconds);
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (values[name] !== undefined ? String(values[name]) : m));
}
