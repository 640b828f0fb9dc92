import { CATALOGUE } from '../catalogue/index.js';
import type { ModelId, ProviderName } from '../models.js';
import type { Micros, PriceTable } from '../prices.js';
import type { FluxRequest } from '../request.js';
import type { ImageProvider } from './provider.js';

/**
 * The order a job tries the configured providers in. `order`: as `PROVIDERS` lists them. `cheapest`: the providers
 * that serve the request's model, cheapest first by the price table (ties in `PROVIDERS` order), then the ones that
 * do not serve it (they refuse, and failover moves on).
 *
 * The order is a pure function of the settings and the request, never of anything a worker learns at run time: a
 * job's `providerIndex` is an index into this order, and a job resumed on another worker (after a crash, a retry or
 * a hand-back) must find the same provider at the same index.
 */
export const PROVIDER_ROUTINGS = ['order', 'cheapest'] as const;
export type ProviderRouting = (typeof PROVIDER_ROUTINGS)[number];

/** The settings the order depends on (a slice of the app config). */
export interface RoutingSettings {
  PROVIDER_ROUTING: ProviderRouting;
  /** The one model a Cog container serves, when set: Cog does not serve the others, whatever the catalogue maps. */
  COG_MODEL?: ModelId | undefined;
}

/** A job's failover list for its request: the worker's providers in the order the routing puts them. */
export type ProviderRoute = (request: FluxRequest) => readonly ImageProvider[];

/** What the order depends on in a request: the model, the output size and how many reference images it has. */
export type RoutedRequest = Pick<FluxRequest, 'model' | 'width' | 'height' | 'images'>;

/**
 * What one image of `request` costs on `provider`; undefined when the provider does not serve the model. Input
 * images count as unknown sizes (their size is not in the request), the same figure on every provider, so the
 * ranking follows the price rules.
 */
export function requestCost(request: RoutedRequest, provider: ProviderName, settings: RoutingSettings, prices: PriceTable): Micros | undefined {
  if (!serves(provider, request.model, settings)) return undefined;
  const inputs = (request.images ?? []).map(() => undefined);
  return prices.cost(request.model, provider, { width: request.width, height: request.height }, inputs);
}

function serves(provider: ProviderName, model: ModelId, settings: RoutingSettings): boolean {
  if (CATALOGUE[model].providers[provider] === undefined) return false;
  return provider !== 'cog' || settings.COG_MODEL === undefined || settings.COG_MODEL === model;
}

/** `providers` (in `PROVIDERS` order) in the order a job for `request` tries them. Returns a new array. */
export function orderProviders<T extends { readonly name: ProviderName }>(
  request: RoutedRequest,
  providers: readonly T[],
  settings: RoutingSettings,
  prices: PriceTable,
): T[] {
  if (settings.PROVIDER_ROUTING !== 'cheapest') return [...providers];
  // Providers that do not serve the model rank after every price, among themselves in `PROVIDERS` order.
  const ranked = providers.map((provider, index) => ({ provider, index, cost: requestCost(request, provider.name, settings, prices) ?? Infinity }));
  ranked.sort((a, b) => (a.cost < b.cost ? -1 : a.cost > b.cost ? 1 : a.index - b.index));
  return ranked.map((r) => r.provider);
}

/** The worker's route: `providers` as they are with `order`, else ordered per request. */
export function createRoute(providers: readonly ImageProvider[], settings: RoutingSettings, prices: PriceTable): ProviderRoute {
  if (settings.PROVIDER_ROUTING !== 'cheapest') return () => providers;
  return (request) => orderProviders(request, providers, settings, prices);
}

/** The failover list of a job: its route's order, or the providers as listed when there is no route. */
export function providersFor(deps: { providers: readonly ImageProvider[]; route?: ProviderRoute | undefined }, request: FluxRequest): readonly ImageProvider[] {
  return deps.route ? deps.route(request) : deps.providers;
}

/** The configured providers' names in the order a job for `request` tries them (for callers without a worker). */
export function routeNames(request: RoutedRequest, settings: RoutingSettings & { PROVIDERS: readonly ProviderName[] }, prices: PriceTable): ProviderName[] {
  return orderProviders(request, settings.PROVIDERS.map((name) => ({ name })), settings, prices).map((p) => p.name);
}
