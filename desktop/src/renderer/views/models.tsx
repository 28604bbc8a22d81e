// Models: every version with who pushed it and whether it is deprecated, not trusted (signed by
// rotated-out keys: the hub refuses deploys and rollouts of it) or its bundle dropped (history kept, decision
// 0138: refused too, and not downloadable, so neither checked nor tried here); a version's provenance,
// signatures (checked here against the trust document, not taken from the hub), the devices running
// it, its samples run in this browser ("Try it", views/try-it.tsx), and (operator) deprecate with a reason;
// (admin) delete a version nothing refers to.
import { Fragment, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { errorText } from '../api.js';
import type { Manifest, ModelBackends, ModelVersionDetail, ModelVersionInfo, TrustDocument } from '@edgefleet/shared';
import { can, loadModels, modelList, models, refetchTick, session } from '../store.js';
import { checkBundle, checkTrust, readBundleHead, type ThresholdCheck, type TrustCheck } from '../verify.js';
import { ActionForm } from '../ui/action.js';
import { Deprecated, Empty, Loading, RefetchFailed, time } from '../ui/states.js';
import { useRefetched } from '../ui/refetched.js';
import { go } from '../nav.js';
import { background } from '../background.js';
import { ModelsLoad, NOT_TRUSTED, SIGNED_BY_ROTATED_OUT, droppedText, short } from './model-state.js';
import { lazyView } from '../ui/lazy.js';
import { formatBytes, formatCount } from '@edgefleet/shared/browser';
import { Head } from '../ui/table.js';

/** Try it's code (onnxruntime-web's glue, the request checks of @edgefleet/shared/browser) loads when a version's page shows it. */
const TryIt = lazyView('Try it', () => import('./try-it.js').then((m) => m.TryIt));
const roleOf = (t: TrustCheck, keyId: string) => (['root', 'release', 'hub'] as const).filter((r) => t.body.roles[r].keyIds.includes(keyId)).join(', ') || 'not in the trust document';

type VersionDevice = { id: string; status: string };
/** The devices of a version's page, each a link with its status; `installed` ones under their own caption, not as running it. */
function deviceChips(list: VersionDevice[], kind: 'running' | 'installed', none: ComponentChildren) {
  if (list.length === 0) return none;
  return (
    <>
      {kind === 'installed' ? <p class="muted" data-testid="version-devices-installed">Installed, not running it (kept from before a rollout or rollback):</p> : null}
      <ul class="chips" aria-label={kind === 'installed' ? 'Devices holding it installed' : 'Devices running it'}>{list.map((d) => <li key={d.id}><a href={`#/devices/${encodeURIComponent(d.id)}`} onClick={(e) => { e.preventDefault(); go(`#/devices/${encodeURIComponent(d.id)}`); }}>{d.id}</a> <span class="muted">{d.status}</span></li>)}</ul>
    </>
  );
}

export function ModelsView({ name, version }: { name?: string; version?: string }) {
  const list = models.value;
  useEffect(() => { if (list === null) background(loadModels()); }, []);
  return (
    <section aria-labelledby="models-h">
      <h1 id="models-h">Models</h1>
      <ModelsLoad />
      {!Array.isArray(list) ? null : list.length === 0
        ? <Empty>No model in the registry. Push one: <code>edgefleet model push BUNDLE.efb</code>.</Empty>
        : (
          <table class="plain selectable" aria-label="Model versions">
            <Head cols={['Model', 'Version', 'Pushed', 'By', 'Size', 'Backends', 'State']} />
            <tbody>{list.map((v) => {
              const href = `#/models/${encodeURIComponent(v.name)}/${encodeURIComponent(v.version)}`;
              return (
                <tr key={v.name + v.version} class={v.name === name && (version === undefined || v.version === version) ? 'selected' : ''}>
                  <td><a href={href} class="mono">{v.name}</a></td><td class="mono"><a href={href}>{v.version}</a></td><td>{time(v.created)}</td><td>{v.pushedBy}</td>
                  <td title={`${formatCount(v.bundle.size)} bytes`}>{formatBytes(v.bundle.size)}</td><td data-testid="version-backends" title={backendsWhy(v.backends)}>{backendsCell(v.backends)}</td><td><VersionState v={v} /></td>
                </tr>
              );
            })}</tbody>
          </table>
        )}
      {name && version ? <VersionDetail name={name} version={version} /> : Array.isArray(list) && list.length ? <Empty>{pickText(list, name)}</Empty> : null}
    </section>
  );
}

/** What the page asks under the list: a version to pick (of `name`, from #/models/NAME), or that no such model is pushed. */
function pickText(list: ModelVersionInfo[], name: string | undefined): string {
  if (name === undefined) return 'Select a version to see its provenance and signatures.';
  const n = list.filter((v) => v.name === name).length;
  return n ? `Select a version of ${name} (${n} shown highlighted) to see its provenance and signatures.` : `No model ${name} in the registry: select one of the versions above.`;
}

/** Deprecated, not trusted and/or its bundle dropped (with what to do), else assignable. */
function VersionState({ v }: { v: ModelVersionInfo }) {
  const untrusted = v.trusted === false ? <><span class="pill revoked" title={NOT_TRUSTED}>not trusted</span> <span class="muted">{SIGNED_BY_ROTATED_OUT}</span></> : null;
  const dropped = v.bundleDropped ? <span data-testid="version-dropped"><span class="pill offline" title={droppedText(v) ?? ''}>bundle dropped</span> <span class="muted">{time(v.bundleDropped.at)} by {v.bundleDropped.by}</span></span> : null;
  const deprecated = v.deprecated ? <span class="pill revoked" title={v.deprecatedReason ?? ''}>deprecated</span> : null;
  const all = [deprecated, untrusted, dropped].filter((x) => x !== null);
  return all.length ? <>{all.map((x, i) => <Fragment key={i}>{i ? ' ' : ''}{x}</Fragment>)}</> : <>assignable</>;
}

/** Why a version was not checked on a backend: pushed before the hub checked (decision 0129), or encrypted. */
const NOT_CHECKED = 'not checked: pushed before the hub checked which backends load a model, or encrypted (the hub has no content key); no deploy is refused for its backend';
const kinds = (r: Partial<Record<string, string>> | undefined) => Object.keys(r ?? {});

/**
 * Which runtime backends load a version, as the hub found at push (docs/decisions/0129-model-backends-checked.md):
 * "native, wasm"; "native only" when the other refused it (a deploy or rollout to its devices is refused,
 * BACKEND_UNSUPPORTED); "native; wasm not checked"; "not checked" for null (`model ls` BACKENDS says "-").
 */
export function backendsCell(b: ModelBackends | null | undefined): string {
  if (!b || b.loads.length === 0) return 'not checked';
  const loads = b.loads.join(', ');
  if (kinds(b.refused).length) return `${loads} only`;
  return kinds(b.unchecked).length ? `${loads}; ${kinds(b.unchecked).join(', ')} not checked` : loads;
}

/** Why not each other backend, one line each (the cell's title and the version's page); empty when all load. */
export function backendsWhy(b: ModelBackends | null | undefined): string {
  if (!b) return NOT_CHECKED;
  return [...Object.entries(b.refused).map(([k, why]) => `does not load on ${k}: ${why}; a deploy or rollout to devices on ${k} is refused (BACKEND_UNSUPPORTED)`),
    ...Object.entries(b.unchecked ?? {}).map(([k, why]) => `${k} not checked: ${why}`)].join('\n');
}

/** The version's page: its backends, and why not the others in full under a disclosure. */
function Backends({ b }: { b: ModelBackends | null | undefined }) {
  const why = backendsWhy(b);
  return (
    <div data-testid="version-backends-detail">
      <p class={b && kinds(b.refused).length ? 'error' : ''}>Loads on: {backendsCell(b)}</p>
      {why ? <details open={!!b && kinds(b.refused).length > 0}><summary>why not the other backends</summary><pre style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>{why}</pre></details> : null}
    </div>
  );
}

type Verified = { trust: TrustCheck; bundle: ThresholdCheck; manifest: Record<string, unknown> } | { error: string };

/** How many devices a version's page lists (the hub counts them all). */
const VERSION_DEVICES = 500;

function VersionDetail({ name, version }: { name: string; version: string }) {
  const api = session.value?.api;
  const [verified, setVerified] = useState<Verified | null>(null);
  const [checks, setChecks] = useState(0); // bumped by the signature check's Retry
  const path = `/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`;
  const info = modelList().find((v) => v.name === name && v.version === version);
  // What the signature check depends on: the bundle (its sha256), whether the hub's trust lists its keys, and
  // whether the hub still holds it. A list reloaded or a live stream reconnected changes none of these, so
  // neither downloads the bundle again nor takes Try it away from under a run.
  const bundleKey = info ? `${info.bundle.sha256}:${String(info.trusted)}:${info.bundleDropped ? 'dropped' : ''}` : models.value === null ? null : '';
  // The version's details (the devices running it, its state), again whenever the list or the view reloads: what is
  // shown stays until the new answer is in, and a reload that fails keeps it (and a Deprecate form open on it) under the error.
  const loaded = useRefetched(() => api!.get<ModelVersionDetail>(`${path}?devices=${VERSION_DEVICES}`), [refetchTick.value, models.value], path);
  const detail = loaded.value;
  useEffect(() => {
    setVerified(null);
    // Not before the list says what the bundle is; and no bundle to read: its signatures are not checked here, and Try it has nothing to run.
    if (!api || bundleKey === null || info?.bundleDropped) return;
    const ac = new AbortController();
    (async () => {
      const trust = checkTrust(await api.get<TrustDocument>('/trust'));
      const res = await api.raw(`${path}/bundle`, ac.signal);
      if (!res.body) throw new Error('empty bundle');
      const head = await readBundleHead(res.body);
      const m = head.manifest as Record<string, unknown>;
      if (m['name'] !== name || m['version'] !== version) throw new Error(`the bundle is ${String(m['name'])}@${String(m['version'])}, not ${name}@${version}`);
      setVerified({ trust, bundle: checkBundle(trust.body, head), manifest: m });
    })().catch((e: unknown) => { if (!ac.signal.aborted) setVerified({ error: errorText(e) }); });
    return () => ac.abort();
  }, [name, version, bundleKey, checks]);
  if (!detail) return loaded.error ? <RefetchFailed what={`${name}@${version}`} r={loaded} /> : <Loading what={`${name}@${version}`} />;
  const trusted = detail.trusted ?? modelList().find((v) => v.name === name && v.version === version)?.trusted;
  const prov = (verified && !('error' in verified) ? verified.manifest['provenance'] : detail.provenance) as Record<string, unknown> | undefined;
  return (<>
    <RefetchFailed what={`${name}@${version}`} r={loaded} />
    <div class="grid2" data-testid="model-detail">
      <div class="panel">
        <h2><span class="mono">{name}@{version}</span></h2>
        {trusted === false ? <p class="error" role="alert" data-testid="version-not-trusted">✘ {NOT_TRUSTED}</p> : null}
        {detail.bundleDropped ? <p class="error" role="alert" data-testid="version-bundle-dropped">✘ Not deployable: {droppedText(detail)}</p> : null}
        {detail.deprecated ? <Deprecated reason={detail.deprecatedReason} testid="version-deprecated" /> : null}
        <Backends b={detail.backends !== undefined ? detail.backends : modelList().find((v) => v.name === name && v.version === version)?.backends} />
        {detail.bundleDropped ? <p class="muted" data-testid="signature-status">Signatures not checked here: the hub no longer holds the bundle.</p>
          : <Signatures detail={detail} verified={verified} retry={() => setChecks((n) => n + 1)} />}
        {can('operator') ? (
          <div class="actions" aria-label="Model actions">
            {/* Drawn once deprecated too: its own answer stays beside it, and a form open when another operator's deprecation
                reaches the page stays, saying why it sends nothing (docs/decisions/0147-console-action-gone-under-open-form.md). */}
            <ActionForm label="Deprecate" danger reasonRequired gone={detail.deprecated ? `the version was deprecated (${detail.deprecatedReason ?? 'no reason given'})` : undefined} run={async (reason) => {
              await api?.send('POST', `${path}/deprecate`, { reason });
              await loadModels();
              return 'deprecated';
            }} />
            {/* Only a version nothing refers to (pushed by mistake); the hub names what refers to any other. */}
            {can('admin') ? (
              <ActionForm label="Delete version" danger reasonRequired run={async (reason) => {
                await api?.send('DELETE', `${path}?reason=${encodeURIComponent(reason)}`);
                await loadModels();
                go('#/models');
              }} />
            ) : null}
          </div>
        ) : null}
        <h2>Running on</h2>
        {/* A box keeps the version a rollout replaced: it holds it installed and does not serve it (docs/console.md). */}
        {deviceChips(detail.devices.filter((d) => d.status !== 'installed'), 'running', <Empty>No device runs this version.</Empty>)}
        {deviceChips(detail.devices.filter((d) => d.status === 'installed'), 'installed', null)}
        {(detail.devicesTotal ?? 0) > detail.devices.length
          ? <p class="muted" data-testid="version-devices-more">the first {formatCount(detail.devices.length)} of {formatCount(detail.devicesTotal ?? 0)} devices, by id (the fleet view lists them all)</p>
          : null}
      </div>
      <div class="panel">
        <h2>Try it</h2>
        {verified && !('error' in verified)
          ? <TryIt key={`${name}@${version}`} name={name} version={version} bundlePath={`${path}/bundle`} size={detail.bundle.size} manifest={verified.manifest as unknown as Manifest}
            signed={verified.trust.root.ok && !verified.trust.rootChanged && verified.bundle.ok} />
          : <Empty>{detail.bundleDropped ? 'Not available: the bundle was dropped.' : 'Available once the signatures are checked.'}</Empty>}
        <h2>Provenance</h2>
        {prov ? <Provenance p={prov} /> : <Empty>This bundle declares no provenance.</Empty>}
      </div>
    </div>
  </>);
}

function Signatures({ detail, verified, retry }: { detail: ModelVersionDetail; verified: Verified | null; retry: () => void }) {
  if (!verified) return <p class="state loading" role="status">Checking signatures in this console…</p>;
  if ('error' in verified) return <p class="error" role="alert" data-testid="signature-status">Could not check the signatures here: {verified.error} <button type="button" onClick={retry}>Retry</button></p>;
  const { trust, bundle } = verified;
  const ok = trust.root.ok && !trust.rootChanged && bundle.ok;
  // Every signature by a key the current trust document does not list as a release key: most likely signed before a rotation.
  const rotatedOut = detail.signatures.length > 0 && detail.signatures.every((s) => !trust.body.roles.release.keyIds.includes(s.keyId));
  return (
    <div>
      <p class={ok ? 'ok' : 'error'} data-testid="signature-status" role="status">
        {ok ? `✔ Signed: ${bundle.valid.length} of threshold ${bundle.threshold} release signatures verified in this console`
          : !trust.root.ok ? '✘ The trust document is not signed by a threshold of its root keys'
            : trust.rootChanged ? '✘ The trust document\'s root keys changed since this browser first saw this hub'
              : rotatedOut ? `✘ Not signed by a current release key: its signatures are by keys trust document v${trust.body.version} does not list (signed before a key rotation?); an agent will not install it until it is signed again with a current release key`
                : `✘ Not signed: ${bundle.valid.length} of threshold ${bundle.threshold} release signatures valid`}
      </p>
      <table class="plain" aria-label="Signatures"><Head cols={['Signed by key', 'Role in the trust document', 'Checked here']} />
        <tbody>{detail.signatures.map((s) => (
          <tr key={s.keyId}><td class="mono" title={s.keyId}>{short(s.keyId)}</td><td>{roleOf(trust, s.keyId)}</td>
            <td>{bundle.valid.includes(s.keyId) ? 'valid' : bundle.ignored.includes(s.keyId) ? 'not a release key' : 'INVALID'}</td></tr>
        ))}</tbody></table>
      <p class="muted">Trust document v{trust.body.version}, expires {time(trust.body.expires)}{trust.expired ? ' (expired)' : ''}; pushed by {detail.pushedBy}.</p>
    </div>
  );
}

function Provenance({ p }: { p: Record<string, unknown> }) {
  return (
    <dl class="prov">
      {Object.entries(p).map(([k, v]) => (
        <><dt key={k}>{k}</dt><dd>{typeof v === 'string' || typeof v === 'number' ? String(v) : <pre>{JSON.stringify(v, null, 2)}</pre>}</dd></>
      ))}
    </dl>
  );
}
