import type { Locale } from '../../i18n/locale.ts';

/** The hosted pages' words, in every shipped locale (English is the reference). */
const en = {
  'signin.title': 'Sign in',
  'signin.continue': 'to continue to',
  'signin.email': 'Email',
  'signin.password': 'Password',
  'signin.submit': 'Sign in',
  'signin.missing': 'Enter your email and password.',
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
