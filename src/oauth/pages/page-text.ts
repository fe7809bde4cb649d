import type { Locale } from '../../i18n/locale.ts';

/** The hosted pages' words, in every shipped locale (English is the reference). */
const en = {
  'signin.title': 'Sign in',
  'signin.continue': 'to continue to',
  'signin.email': 'Email',
  'signin.password': 'Password',
  'signin.submit': 'Sign in',
  'signin.missing': 'Enter your email and password.',
  'mfa.title': 'Two-step verification',
  'mfa.prompt': 'Enter the 6-digit code from your authenticator app, or one of your backup codes.',
  'mfa.code': 'Verification code',
  'mfa.submit': 'Verify',
  'mfa.missing': 'Enter a code.',
  'mfa.enroll_required': 'Your organization requires two-step verification. Set it up in the application first, then sign in here.',
  'mfa.passkey_only': 'Your account signs in with a passkey as its second step, which this page cannot do yet. Use the application to sign in.',
  'consent.title': 'Allow access?',
  'consent.wants': 'wants to access your account',
  'consent.able': 'It will be able to:',
  'consent.allow': 'Allow',
  'consent.deny': 'Deny',
  'scope.openid': 'Sign you in with your account',
  'scope.profile': 'See your name and profile details',
  'scope.email': 'See your email address',
  'scope.offline_access': 'Stay signed in when you are not using it',
  'scope.custom': 'Use',
  'error.title': 'Sign-in request refused',
  'error.code': 'Error code:',
  'error.back': 'Return to the application you came from and try again.',
  'logout.confirm': 'Sign out?',
  'logout.submit': 'Sign out',
  'logout.done.title': 'Signed out',
  'logout.done': 'You are signed out. You can close this window.',
} as const;

export type TextKey = keyof typeof en;

const ptBR: Record<TextKey, string> = {
  'signin.title': 'Entrar',
  'signin.continue': 'para continuar em',
  'signin.email': 'E-mail',
  'signin.password': 'Senha',
  'signin.submit': 'Entrar',
  'signin.missing': 'Informe seu e-mail e sua senha.',
  'mfa.title': 'Verificação em duas etapas',
  'mfa.prompt': 'Informe o código de 6 dígitos do seu aplicativo autenticador ou um dos seus códigos de backup.',
  'mfa.code': 'Código de verificação',
  'mfa.submit': 'Verificar',
  'mfa.missing': 'Informe um código.',
  'mfa.enroll_required': 'Sua organização exige a verificação em duas etapas. Configure-a primeiro no aplicativo e depois entre aqui.',
  'mfa.passkey_only': 'Sua conta usa uma chave de acesso (passkey) como segunda etapa, o que esta página ainda não faz. Entre pelo aplicativo.',
  'consent.title': 'Permitir acesso?',
  'consent.wants': 'quer acessar sua conta',
  'consent.able': 'O aplicativo poderá:',
  'consent.allow': 'Permitir',
  'consent.deny': 'Negar',
  'scope.openid': 'Identificar você com a sua conta',
  'scope.profile': 'Ver seu nome e dados de perfil',
  'scope.email': 'Ver seu endereço de e-mail',
  'scope.offline_access': 'Manter o acesso quando você não estiver usando',
  'scope.custom': 'Usar',
  'error.title': 'Pedido de acesso recusado',
  'error.code': 'Código do erro:',
  'error.back': 'Volte ao aplicativo de onde você veio e tente novamente.',
  'logout.confirm': 'Sair?',
  'logout.submit': 'Sair',
  'logout.done.title': 'Você saiu',
  'logout.done': 'Você saiu da sua conta. Pode fechar esta janela.',
};

export function text(locale: Locale, key: TextKey): string {
  return locale === 'pt-BR' ? ptBR[key] : en[key];
}

export function hasText(key: string): key is TextKey {
  return key in en;
}
