import type { Locale } from '../i18n/locale.ts';
import type { MailContent } from './render.ts';

/** Every mail Gatehouse sends, with the data its template needs. */
export interface TemplateData {
  password_reset: { url: string; minutes: number };
  password_changed: Record<string, never>;
  email_verification: { url: string; hours: number };
  /** Someone tried to register with an address that already has an account (registration answers the same either way). */
  account_exists: { resetUrl: string };
  invitation: { url: string; role: string; days: number };
  passwordless_link: { url: string; minutes: number };
  passwordless_code: { code: string; minutes: number };
  email_change_confirm: { url: string; newEmail: string; minutes: number };
  email_changed: { newEmail: string };
  account_locked: { minutes: number };
  security_alert: { summary: string };
  backup_code_used: { remaining?: number };
  mfa_reset: Record<string, never>;
  /** A second factor added or removed, or backup codes replaced, by the account owner. */
  mfa_changed: { change: 'enabled' | 'removed' | 'backup_codes_regenerated' };
  /** To the tenant's admins: a security alert was raised (src/security/alerts.ts). */
  admin_security_alert: { type: string; severity: string; subject: string | null; consoleUrl: string };
}

/** What each alert type means, for the admins' mail. */
const ALERT_TEXT: Record<Locale, Record<string, string>> = {
  en: {
    multiple_failures: 'Several wrong passwords in a row for one account.',
    account_locked: 'An account was locked after too many wrong passwords.',
    refresh_token_reuse: 'A refresh token was used twice: a token may have been stolen; the session was revoked.',
    suspicious_login: 'A sign-in looked unusual (new device or network, impossible travel, scripted client).',
    privilege_escalation: 'An account was given the admin role.',
    passkey_clone_warning: 'A passkey answered with a signature counter that did not increase: it may have been cloned.',
    mfa_reset: "An administrator reset an account's two-factor authentication.",
  },
  'pt-BR': {
    multiple_failures: 'Várias senhas erradas seguidas para uma conta.',
    account_locked: 'Uma conta foi bloqueada depois de muitas senhas erradas.',
    refresh_token_reuse: 'Um token de atualização foi usado duas vezes: pode ter sido roubado; a sessão foi revogada.',
    suspicious_login: 'Um acesso pareceu incomum (dispositivo ou rede novos, viagem impossível, cliente automatizado).',
    privilege_escalation: 'Uma conta recebeu o papel de administrador.',
    passkey_clone_warning: 'Uma chave de acesso respondeu com um contador de assinaturas que não aumentou: pode ter sido clonada.',
    mfa_reset: 'Um administrador redefiniu a autenticação em dois fatores de uma conta.',
  },
};
export type TemplateName = keyof TemplateData;

type Catalog = { [K in TemplateName]: (d: TemplateData[K], tenant: string) => MailContent };

const en: Catalog = {
  password_reset: (d) => ({
    subject: 'Reset your password',
    intro: ['We received a request to reset the password of your account.'],
    action: { label: 'Choose a new password', url: d.url },
    outro: [`The link works once and expires in ${d.minutes} minutes.`, 'If you did not ask for this, ignore this message: your password stays as it is.'],
  }),
  password_changed: () => ({
    subject: 'Your password was changed',
    intro: ['The password of your account was just reset, and every device was signed out.'],
    outro: ['If this was not you, reset your password at once and contact your administrator.'],
  }),
  email_verification: (d) => ({
    subject: 'Confirm your email address',
    intro: ['Please confirm that this address belongs to you.'],
    action: { label: 'Confirm my address', url: d.url },
    outro: [`The link expires in ${d.hours} hours.`, 'If you did not create an account, ignore this message.'],
  }),
  account_exists: (d, tenant) => ({
    subject: 'Someone tried to sign up with your address',
    intro: [`Someone tried to create an account at ${tenant} with this email address, but you already have one.`],
    action: { label: 'Forgot your password? Reset it', url: d.resetUrl },
    outro: ['If this was not you, you can ignore this message: nothing was changed.'],
  }),
  invitation: (d, tenant) => ({
    subject: `You are invited to join ${tenant}`,
    intro: [`You have been invited to join ${tenant} as ${d.role}.`],
    action: { label: 'Accept the invitation', url: d.url },
    outro: [`The invitation expires in ${d.days} days.`, 'If you do not expect this, ignore this message.'],
  }),
  passwordless_link: (d) => ({
    subject: 'Your sign-in link',
    intro: ['Use this link to sign in.'],
    action: { label: 'Sign in', url: d.url },
    outro: [`The link works once and expires in ${d.minutes} minutes.`, 'If you did not ask to sign in, ignore this message.'],
  }),
  passwordless_code: (d) => ({
    subject: `Your sign-in code: ${d.code}`,
    intro: ['Enter this code to sign in:'],
    code: d.code,
    outro: [`The code expires in ${d.minutes} minutes.`, 'If you did not ask to sign in, ignore this message.'],
  }),
  email_change_confirm: (d) => ({
    subject: 'Confirm your new email address',
    intro: [`Confirm that ${d.newEmail} should become the address of your account.`],
    action: { label: 'Confirm the new address', url: d.url },
    outro: [`The link expires in ${d.minutes} minutes.`, 'If you did not ask for this, ignore this message.'],
  }),
  email_changed: (d) => ({
    subject: 'Your email address was changed',
    intro: [`The email address of your account was changed to ${d.newEmail}.`],
    outro: ['If this was not you, contact your administrator at once.'],
  }),
  account_locked: (d) => ({
    subject: 'Your account was locked',
    intro: [`After too many wrong passwords your account is locked for ${d.minutes} minutes.`],
    outro: ['If these attempts were not yours, reset your password: that also lifts the lock.'],
  }),
  security_alert: (d) => ({
    subject: 'Security alert on your account',
    intro: [d.summary],
    outro: ['If this was not you, reset your password and contact your administrator.'],
  }),
  backup_code_used: (d) => ({
    subject: 'A backup code was used',
    intro: ['A backup code was just used to sign in to your account.', ...(d.remaining !== undefined ? [`Backup codes left: ${d.remaining}.`] : [])],
    outro: ['If this was not you, reset your password and your two-factor setup at once.'],
  }),
  mfa_reset: () => ({
    subject: 'Your two-factor authentication was reset',
    intro: ['The two-factor authentication of your account was reset.'],
    outro: ['If you did not ask for this, contact your administrator at once.'],
  }),
  mfa_changed: (d) => ({
    subject: 'Your two-factor authentication changed',
    intro: [
      {
        enabled: 'A second factor was added to your account.',
        removed: 'A second factor was removed from your account.',
        backup_codes_regenerated: 'New backup codes were generated for your account; the old ones no longer work.',
      }[d.change],
    ],
    outro: ['If this was not you, reset your password and contact your administrator at once.'],
  }),
  admin_security_alert: (d) => ({
    subject: `Security alert (${d.severity}): ${d.type}`,
    intro: [ALERT_TEXT.en[d.type] ?? d.type, ...(d.subject ? [`Account: ${d.subject}`] : [])],
    action: { label: 'Review the alerts', url: d.consoleUrl },
    outro: ['You receive this as an administrator of this organization.'],
  }),
};

const ptBR: Catalog = {
  password_reset: (d) => ({
    subject: 'Redefina sua senha',
    intro: ['Recebemos um pedido para redefinir a senha da sua conta.'],
    action: { label: 'Escolher uma nova senha', url: d.url },
    outro: [`O link funciona uma vez e expira em ${d.minutes} minutos.`, 'Se você não pediu isso, ignore esta mensagem: sua senha continua a mesma.'],
  }),
  password_changed: () => ({
    subject: 'Sua senha foi alterada',
    intro: ['A senha da sua conta acabou de ser redefinida, e todos os dispositivos foram desconectados.'],
    outro: ['Se não foi você, redefina sua senha imediatamente e fale com o administrador.'],
  }),
  email_verification: (d) => ({
    subject: 'Confirme seu endereço de e-mail',
    intro: ['Confirme que este endereço pertence a você.'],
    action: { label: 'Confirmar meu endereço', url: d.url },
    outro: [`O link expira em ${d.hours} horas.`, 'Se você não criou uma conta, ignore esta mensagem.'],
  }),
  account_exists: (d, tenant) => ({
    subject: 'Alguém tentou se cadastrar com seu endereço',
    intro: [`Alguém tentou criar uma conta em ${tenant} com este e-mail, mas você já tem uma.`],
    action: { label: 'Esqueceu a senha? Redefina', url: d.resetUrl },
    outro: ['Se não foi você, pode ignorar esta mensagem: nada foi alterado.'],
  }),
  invitation: (d, tenant) => ({
    subject: `Você foi convidado para ${tenant}`,
    intro: [`Você foi convidado para participar de ${tenant} como ${d.role}.`],
    action: { label: 'Aceitar o convite', url: d.url },
    outro: [`O convite expira em ${d.days} dias.`, 'Se você não esperava por isso, ignore esta mensagem.'],
  }),
  passwordless_link: (d) => ({
    subject: 'Seu link de acesso',
    intro: ['Use este link para entrar.'],
    action: { label: 'Entrar', url: d.url },
    outro: [`O link funciona uma vez e expira em ${d.minutes} minutos.`, 'Se você não pediu para entrar, ignore esta mensagem.'],
  }),
  passwordless_code: (d) => ({
    subject: `Seu código de acesso: ${d.code}`,
    intro: ['Digite este código para entrar:'],
    code: d.code,
    outro: [`O código expira em ${d.minutes} minutos.`, 'Se você não pediu para entrar, ignore esta mensagem.'],
  }),
  email_change_confirm: (d) => ({
    subject: 'Confirme seu novo endereço de e-mail',
    intro: [`Confirme que ${d.newEmail} deve passar a ser o endereço da sua conta.`],
    action: { label: 'Confirmar o novo endereço', url: d.url },
    outro: [`O link expira em ${d.minutes} minutos.`, 'Se você não pediu isso, ignore esta mensagem.'],
  }),
  email_changed: (d) => ({
    subject: 'Seu endereço de e-mail foi alterado',
    intro: [`O endereço de e-mail da sua conta foi alterado para ${d.newEmail}.`],
    outro: ['Se não foi você, fale com o administrador imediatamente.'],
  }),
  account_locked: (d) => ({
    subject: 'Sua conta foi bloqueada',
    intro: [`Depois de muitas senhas erradas, sua conta ficará bloqueada por ${d.minutes} minutos.`],
    outro: ['Se essas tentativas não foram suas, redefina sua senha: isso também desfaz o bloqueio.'],
  }),
  security_alert: (d) => ({
    subject: 'Alerta de segurança na sua conta',
    intro: [d.summary],
    outro: ['Se não foi você, redefina sua senha e fale com o administrador.'],
  }),
  backup_code_used: (d) => ({
    subject: 'Um código de backup foi usado',
    intro: ['Um código de backup acabou de ser usado para entrar na sua conta.', ...(d.remaining !== undefined ? [`Códigos de backup restantes: ${d.remaining}.`] : [])],
    outro: ['Se não foi você, redefina sua senha e sua autenticação em dois fatores imediatamente.'],
  }),
  mfa_reset: () => ({
    subject: 'Sua autenticação em dois fatores foi redefinida',
    intro: ['A autenticação em dois fatores da sua conta foi redefinida.'],
    outro: ['Se você não pediu isso, fale com o administrador imediatamente.'],
  }),
  mfa_changed: (d) => ({
    subject: 'Sua autenticação em dois fatores mudou',
    intro: [
      {
        enabled: 'Um segundo fator foi adicionado à sua conta.',
        removed: 'Um segundo fator foi removido da sua conta.',
        backup_codes_regenerated: 'Novos códigos de backup foram gerados para a sua conta; os antigos não funcionam mais.',
      }[d.change],
    ],
    outro: ['Se não foi você, redefina sua senha e fale com o administrador imediatamente.'],
  }),
  admin_security_alert: (d) => ({
    subject: `Alerta de segurança (${d.severity}): ${d.type}`,
    intro: [ALERT_TEXT['pt-BR'][d.type] ?? d.type, ...(d.subject ? [`Conta: ${d.subject}`] : [])],
    action: { label: 'Ver os alertas', url: d.consoleUrl },
    outro: ['Você recebe isto como administrador desta organização.'],
  }),
};

const catalogs: Record<Locale, Catalog> = { en, 'pt-BR': ptBR };

export function templateContent<K extends TemplateName>(locale: Locale, name: K, data: TemplateData[K], tenantName: string): MailContent {
  return (catalogs[locale][name] as (d: TemplateData[K], t: string) => MailContent)(data, tenantName);
}
