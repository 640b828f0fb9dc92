import { describe, expect, it } from 'vitest';
import type { ProviderName } from '../../../src/core/models.js';
import { PriceTable, type PriceOverrides } from '../../../src/core/prices.js';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import type { ImageProvider } from '../../../src/core/providers/provider.js';
import { createRoute, orderProviders, providersFor, routeNames, type RoutingSettings } from '../../../src/core/providers/routing.js';
import type { FluxRequest } from '../../../src/core/request.js';
import { fluxRequest } from '../../helpers/core.js';

const cheapest: RoutingSettings = { PROVIDER_ROUTING: 'cheapest' };
const table = (overrides: PriceOverrides) => new PriceTable(overrides);
const names = (request: FluxRequest, providers: ProviderName[], prices: PriceTable, settings: RoutingSettings = cheapest) =>
  routeNames(request, { ...settings, PROVIDERS: providers }, prices);

describe('provider routing', () => {
  it('order: the providers as PROVIDERS lists them, whatever they cost', () => {
    const prices = table({ 'flux-pro': { replicate: 0.09, fal: 0.01 } });
    expect(names(fluxRequest(), ['replicate', 'fal', 'bfl'], prices, { PROVIDER_ROUTING: 'order' })).toEqual(['replicate', 'fal', 'bfl']);
  });

  it('cheapest: by the price table, overrides included', () => {
    const request = fluxRequest();
    expect(names(request, ['replicate', 'fal', 'bfl'], table({ 'flux-pro': { replicate: 0.03, fal: 0.06, bfl: 0.04 } }))).toEqual(['replicate', 'bfl', 'fal']);
    expect(names(request, ['replicate', 'fal', 'bfl'], table({ 'flux-pro': { replicate: 0.07, fal: 0.06, bfl: 0.05 } }))).toEqual(['bfl', 'fal', 'replicate']);
  });

  it('cheapest: equal prices keep PROVIDERS order', () => {
    const prices = table({ 'flux-pro': { replicate: 0.05, fal: 0.05, bfl: 0.05 } });
    expect(names(fluxRequest(), ['fal', 'bfl', 'replicate'], prices)).toEqual(['fal', 'bfl', 'replicate']);
    expect(names(fluxRequest(), ['bfl', 'replicate', 'fal'], prices)).toEqual(['bfl', 'replicate', 'fal']);
  });

  it('cheapest: providers that do not serve the model come last, in PROVIDERS order, however cheap elsewhere', () => {
    // BFL has no FLUX.1 [schnell]; a price it would have does not matter.
    const request = fluxRequest({ model: 'flux-schnell', aspect_ratio: '1:1' });
    const prices = table({ 'flux-schnell': { replicate: 0.004, fal: 0.003 } });
    expect(names(request, ['bfl', 'replicate', 'fal'], prices)).toEqual(['fal', 'replicate', 'bfl']);
  });

  it('cheapest: a Cog container serves only COG_MODEL when it is set, free or not', () => {
    const request = fluxRequest({ model: 'flux-dev', aspect_ratio: '1:1' });
    const prices = table({ 'flux-dev': { replicate: 0.025, fal: 0.02 } });
    expect(names(request, ['replicate', 'fal', 'cog'], prices)).toEqual(['cog', 'fal', 'replicate']);
    expect(names(request, ['replicate', 'fal', 'cog'], prices, { ...cheapest, COG_MODEL: 'flux-dev' })).toEqual(['cog', 'fal', 'replicate']);
    expect(names(request, ['replicate', 'fal', 'cog'], prices, { ...cheapest, COG_MODEL: 'flux-schnell' })).toEqual(['fal', 'replicate', 'cog']);
  });

  it('cheapest: per-megapixel prices rank by the output size and the reference images', () => {
    // A cheap first megapixel against cheap further ones: the small image and the large one go different ways.
    const prices = table({
      'flux-pro': { replicate: { per: 'megapixel', firstUsd: 0.02, extraUsd: 0.03 }, fal: { per: 'megapixel', firstUsd: 0.03, extraUsd: 0.015 } },
    });
    const small = fluxRequest({ aspect_ratio: 'custom', width: 1024, height: 1024 });
    const large = fluxRequest({ aspect_ratio: 'custom', width: 1440, height: 1440 });
    expect(names(small, ['fal', 'replicate'], prices)).toEqual(['replicate', 'fal']);
    expect(names(large, ['fal', 'replicate'], prices)).toEqual(['fal', 'replicate']);
    // Reference images count at the unknown size (the same on every provider): one makes the small request dearer
    // on the provider whose further megapixels cost more.
    const withImage: FluxRequest = { ...small, images: ['https://example.com/a.png'] };
    expect(names(withImage, ['fal', 'replicate'], prices)).toEqual(['fal', 'replicate']);
  });

  it('is a pure function of the settings and the request: every worker finds the same provider at each index', () => {
    const overrides: PriceOverrides = { 'flux-pro': { replicate: 0.06, fal: 0.03, bfl: 0.04 } };
    const providers = (['replicate', 'fal', 'bfl'] as const).map((name): ImageProvider => ({ name, generate: () => Promise.reject(new Error('not called')) }));
    const request = fluxRequest();
    // Two workers, each with its own provider instances and price table, built from the same settings.
    const one = createRoute(providers, cheapest, table(overrides));
    const other = createRoute(providers.map((p) => ({ ...p })), cheapest, table(structuredClone(overrides)));
    const first = one(request).map((p) => p.name);
    expect(first).toEqual(['fal', 'bfl', 'replicate']);
    expect(other(structuredClone(request)).map((p) => p.name)).toEqual(first);
    expect(one(request).map((p) => p.name)).toEqual(first);
    expect(routeNames(request, { ...cheapest, PROVIDERS: ['replicate', 'fal', 'bfl'] }, table(overrides))).toEqual(first);
  });

  it('leaves the list alone with order routing, or without a route', () => {
    const providers = [new PreviewProvider()];
    expect(createRoute(providers, { PROVIDER_ROUTING: 'order' }, new PriceTable())(fluxRequest())).toBe(providers);
    expect(providersFor({ providers }, fluxRequest())).toBe(providers);
    expect(orderProviders(fluxRequest(), providers, cheapest, new PriceTable())).not.toBe(providers);
  });
});
