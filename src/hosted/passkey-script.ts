import { createHash } from 'node:crypto';

/**
 * The one script of the hosted pages, on pages with a passkey ceremony only (CSP allows it by hash). It reads the
 * options the server put on the form (data-options), calls navigator.credentials.create() (form #passkey-form: add a
 * passkey) or .get() (form #passkey-assert-form: a passkey as the second step), puts the response (JSON, base64url
 * buffers) in the form's hidden field and submits the form. A choice that only works with it (#passkey-choice, drawn
 * `hidden`: the enrollment step's passkey) is shown by it, and only where the browser has WebAuthn. Everything else
 * on the pages works without scripts.
 */
export const PASSKEY_SCRIPT = `(function(){
function buf(s){s=s.replace(/-/g,'+').replace(/_/g,'/');while(s.length%4)s+='=';var r=atob(s),a=new Uint8Array(r.length);for(var i=0;i<r.length;i++)a[i]=r.charCodeAt(i);return a.buffer;}
function b64(b){var a=new Uint8Array(b),s='';for(var i=0;i<a.length;i++)s+=String.fromCharCode(a[i]);return btoa(s).replace(/\\+/g,'-').replace(/\\//g,'_').replace(/=+$/,'');}
function fail(err){var m=document.getElementById('passkey-error');m.textContent=String(err&&err.message||err);m.hidden=false;}
function ids(l){(l||[]).forEach(function(c){c.id=buf(c.id);});}
var pc=document.getElementById('passkey-choice');if(pc&&window.PublicKeyCredential)pc.hidden=false;
var f=document.getElementById('passkey-form');
if(f)f.addEventListener('submit',function(e){
if(f.elements.response.value)return;
e.preventDefault();
var o=JSON.parse(f.getAttribute('data-options'));
o.challenge=buf(o.challenge);o.user.id=buf(o.user.id);ids(o.excludeCredentials);
navigator.credentials.create({publicKey:o}).then(function(c){
var r=c.response;
f.elements.response.value=JSON.stringify({id:c.id,rawId:b64(c.rawId),type:c.type,clientExtensionResults:c.getClientExtensionResults(),authenticatorAttachment:c.authenticatorAttachment||undefined,
response:{clientDataJSON:b64(r.clientDataJSON),attestationObject:b64(r.attestationObject),transports:r.getTransports?r.getTransports():[]}});
f.submit();
},fail);
});
var g=document.getElementById('passkey-assert-form');
if(g)g.addEventListener('submit',function(e){
if(g.elements.webauthn.value)return;
e.preventDefault();
var d=JSON.parse(g.getAttribute('data-options')),o=d.options;
o.challenge=buf(o.challenge);ids(o.allowCredentials);
navigator.credentials.get({publicKey:o}).then(function(c){
var r=c.response;
g.elements.webauthn.value=JSON.stringify({challenge_id:d.challenge_id,response:{id:c.id,rawId:b64(c.rawId),type:c.type,clientExtensionResults:c.getClientExtensionResults(),authenticatorAttachment:c.authenticatorAttachment||undefined,
response:{clientDataJSON:b64(r.clientDataJSON),authenticatorData:b64(r.authenticatorData),signature:b64(r.signature),userHandle:r.userHandle?b64(r.userHandle):undefined}}});
g.submit();
},fail);
});
})();`;

export const PASSKEY_SCRIPT_HASH = createHash('sha256').update(PASSKEY_SCRIPT).digest('base64');
