local promql = import 'promql.libsonnet';

// Grafana dashboard pieces in the one style both dashboards share (schemaVersion 39, Grafana 10+, checked against
// @grafana/schema by scripts/suites/dashboards-schema.sh). Panels take their position with `+ at(x, y, w, h)`;
// dashboard() numbers them.
{
  datasource:: { type: 'prometheus', uid: '${datasource}' },

  // Queries: range by default; tables read one instant.
  query(expr, legend=''):: { datasource: $.datasource, expr: expr, legendFormat: legend, range: true, instant: false },
  instantTable(expr):: $.query(expr) + { range: false, instant: true, format: 'table' },
  heatmapQuery(expr):: $.query(expr, '{{le}}') + { format: 'heatmap' },

  at(x, y, w, h):: { gridPos: { x: x, y: y, w: w, h: h } },

  // Threshold steps from [color, from] pairs; the first step starts at -infinity.
  steps(pairs):: { mode: 'absolute', steps: [{ color: pair[0], value: if std.length(pair) > 1 then pair[1] else null } for pair in pairs] },
  // Texts for the values 0, 1, 2, ...: [[color, text], ...].
  valueTexts(entries):: [{
    type: 'value',
    options: { [std.toString(i)]: { text: entries[i][1], color: entries[i][0], index: i } for i in std.range(0, std.length(entries) - 1) },
  }],
  upDown:: $.valueTexts([['red', 'down'], ['green', 'up']]),
  passFail:: $.valueTexts([['red', 'fail'], ['green', 'pass']]),
  verdicts:: $.valueTexts([['text', 'no verdict'], ['green', 'healthy'], ['yellow', 'degraded'], ['orange', 'desynchronized'], ['red', 'down'], ['gray', 'unknown']]),
  // ipsec_tunnel_status as one number per tunnel, the worst verdict highest (verdicts above), for tables and timelines.
  verdict(matchers):: std.rstripChars(|||
    max by (instance, tunnel) (
        ipsec_tunnel_status{%(m)s, status="healthy"} * 1
      or ipsec_tunnel_status{%(m)s, status="degraded"} * 2
      or ipsec_tunnel_status{%(m)s, status="desynchronized"} * 3
      or ipsec_tunnel_status{%(m)s, status="down"} * 4
      or ipsec_tunnel_status{%(m)s, status="unknown"} * 5
    )
  ||| % { m: matchers }, '\n'),

  local panel(type, title, description, targets) = {
    type: type,
    title: title,
    description: description,
    datasource: $.datasource,
    targets: [targets[i] { refId: std.char(std.codepoint('A') + i) } for i in std.range(0, std.length(targets) - 1)],
  },

  stat(title, description, targets, unit='none', thresholds=[['blue']], mappings=[], colorMode='value', textMode='auto')::
    panel('stat', title, description, targets) + {
      fieldConfig: {
        defaults: { unit: unit, mappings: mappings, color: { mode: 'thresholds' }, thresholds: $.steps(thresholds) },
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: colorMode,
        graphMode: 'none',
        textMode: textMode,
        justifyMode: 'auto',
        orientation: 'auto',
        wideLayout: true,
      },
    },
  // A stat of up/down-like states: colored backgrounds, red below 1.
  stateStat(title, description, targets, mappings, textMode='auto', zeroColor='red')::
    $.stat(title, description, targets, thresholds=[[zeroColor], ['green', 1]], mappings=mappings, colorMode='background', textMode=textMode),

  timeseries(title,
             description,
             targets,
             unit,
             min=null,
             max=null,
             thresholds=[['green']],
             thresholdsStyle='off',
             drawStyle='line',
             lineInterpolation='linear',
             fillOpacity=10,
             overrides=[])::
    panel('timeseries', title, description, targets) + {
      fieldConfig: {
        defaults: {
          unit: unit,
          color: { mode: 'palette-classic' },
          custom: {
            drawStyle: drawStyle,
            lineInterpolation: lineInterpolation,
            lineWidth: 1,
            fillOpacity: fillOpacity,
            showPoints: 'never',
            spanNulls: false,
            stacking: { mode: 'none', group: 'A' },
            thresholdsStyle: { mode: thresholdsStyle },
          },
          thresholds: $.steps(thresholds),
          [if min != null then 'min']: min,
          [if max != null then 'max']: max,
        },
        overrides: overrides,
      },
      options: {
        legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['mean', 'max', 'lastNotNull'] },
        tooltip: { mode: 'multi', sort: 'desc' },
      },
    },
  // Step lines without fill and a threshold line at 1.5 (where a count that should stay at 1, SPI associations, turns 2).
  stepSeries(title, description, targets, unit='none')::
    $.timeseries(title,
                 description,
                 targets,
                 unit,
                 min=0,
                 thresholds=[['transparent'], ['orange', 1.5]],
                 thresholdsStyle='line',
                 lineInterpolation='stepAfter',
                 fillOpacity=0),
  // Events per interval as bars.
  eventSeries(title, description, targets)::
    $.timeseries(title, description, targets, 'short', min=0, drawStyle='bars', fillOpacity=80),
  // Sent above the axis, received below it.
  receivedBelow:: [{ matcher: { id: 'byRegexp', options: '.*received.*' }, properties: [{ id: 'custom.transform', value: 'negative-Y' }] }],

  table(title, description, targets, transformations, align='left', cellType='auto', mappings=null, overrides=[], sortBy=null)::
    panel('table', title, description, targets) + {
      fieldConfig: {
        defaults: {
          unit: 'none',
          custom: { align: align, cellOptions: { type: cellType } },
          thresholds: $.steps([['text']]),
          [if mappings != null then 'color']: { mode: 'thresholds' },
          [if mappings != null then 'mappings']: mappings,
        },
        overrides: overrides,
      },
      options: {
        showHeader: true,
        cellHeight: 'sm',
        footer: { show: false, reducer: ['sum'], fields: '' },
        [if sortBy != null then 'sortBy']: sortBy,
      },
      transformations: transformations,
    },
  // One row per tunnel, one colored pass/fail cell per check or practice (the label `column`).
  passFailMatrix(title, description, expr, column)::
    $.table(
      title,
      description,
      [$.instantTable(expr)],
      [{ id: 'groupingToMatrix', options: { columnField: column, rowField: 'tunnel', valueField: 'Value' } }],
      align='center',
      cellType='color-background',
      mappings=$.passFail,
      overrides=[{
        matcher: { id: 'byName', options: 'tunnel\\' + column },
        properties: [{ id: 'custom.cellOptions', value: { type: 'auto' } }, { id: 'custom.align', value: 'left' }],
      }],
    ),
  // ipsec_tunnel_info's labels as columns: what a partner report needs. `values` are the query columns to drop.
  tunnelFacts(values, first={}):: {
    id: 'organize',
    options: {
      excludeByName: { Time: true, __name__: true, job: true } + { [value]: true for value in values },
      local columns = ['tunnel'] + std.objectFields(first) + ['description', 'location', 'local_gateway', 'remote_gateway', 'source', 'instance'],
      indexByName: { [columns[i]]: i for i in std.range(0, std.length(columns) - 1) },
      renameByName: first,
    },
  },

  stateTimeline(title, description, targets, mappings)::
    panel('state-timeline', title, description, targets) + {
      fieldConfig: {
        defaults: {
          unit: 'none',
          color: { mode: 'thresholds' },
          custom: { fillOpacity: 80, lineWidth: 0 },
          mappings: mappings,
          thresholds: $.steps([['text']]),
        },
        overrides: [],
      },
      options: {
        mergeValues: true,
        showValue: 'never',
        alignValue: 'left',
        rowHeight: 0.8,
        legend: { showLegend: false, displayMode: 'list', placement: 'bottom' },
        tooltip: { mode: 'single', sort: 'none' },
      },
    },

  // RTT histogram buckets as a heatmap of replies.
  heatmap(title, description, expr)::
    panel('heatmap', title, description, [$.heatmapQuery(expr)]) + {
      fieldConfig: {
        defaults: {
          unit: 'short',
          custom: { hideFrom: { legend: false, tooltip: false, viz: false }, scaleDistribution: { type: 'linear' } },
        },
        overrides: [],
      },
      options: {
        calculate: false,
        cellGap: 1,
        cellValues: { unit: 'short' },
        color: { mode: 'scheme', scheme: 'Oranges', fill: 'dark-orange', scale: 'exponential', exponent: 0.5, steps: 64, reverse: false },
        exemplars: { color: 'rgba(255,0,255,0.7)' },
        filterValues: { le: 1e-09 },
        legend: { show: true },
        rowsFrame: { layout: 'auto', value: 'replies' },
        tooltip: { mode: 'single', yHistogram: true, showColorScale: false },
        yAxis: { axisPlacement: 'left', reverse: false, unit: 's' },
      },
    },

  row(title, y):: { type: 'row', title: title, collapsed: false, panels: [] } + $.at(0, y, 24, 1),

  datasourceVariable:: {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    // Grafana's import replaces ${DS_PROMETHEUS} by the chosen datasource; provisioning falls back to the default.
    current: { selected: false, text: '${DS_PROMETHEUS}', value: '${DS_PROMETHEUS}' },
    hide: 0,
    includeAll: false,
    multi: false,
    options: [],
    refresh: 1,
    regex: '',
  },
  // A variable with the values of a label; `all` makes it multi-valued with All (matching any value).
  labelVariable(name, label, description, series, all=true):: {
    name: name,
    label: label,
    description: description,
    type: 'query',
    datasource: $.datasource,
    query: 'label_values(%s, %s)' % [series, name],
    definition: self.query,
    refresh: 2,
    sort: 1,
    hide: 0,
    regex: '',
    multi: all,
    includeAll: all,
    current: {},
    options: [],
    [if all then 'allValue']: '.*',
  },

  // `selector` goes into every series of the exporter (ipsec_*, and its process_* and dotnet_* runtime metrics) that a
  // panel queries, so panels are written with their own matchers only.
  dashboard(uid, title, description, selector, tags, refresh, timeFrom, links, variables, panels):: {
    __inputs: [{
      name: 'DS_PROMETHEUS',
      label: 'Prometheus',
      description: 'The Prometheus that scrapes ipsec-exporter',
      type: 'datasource',
      pluginId: 'prometheus',
      pluginName: 'Prometheus',
    }],
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.0.0' },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
    ] + [
      { type: 'panel', id: type.id, name: type.name, version: '' }
      for type in [
        { id: 'heatmap', name: 'Heatmap' },
        { id: 'stat', name: 'Stat' },
        { id: 'state-timeline', name: 'State timeline' },
        { id: 'table', name: 'Table' },
        { id: 'timeseries', name: 'Time series' },
      ]
    ],
    annotations: {
      list: [{
        builtIn: 1,
        datasource: { type: 'grafana', uid: '-- Grafana --' },
        enable: true,
        hide: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        name: 'Annotations & Alerts',
        type: 'dashboard',
      }],
    },
    uid: uid,
    title: title,
    description: description,
    tags: tags,
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: links,
    liveNow: false,
    refresh: refresh,
    schemaVersion: 39,
    time: { from: timeFrom, to: 'now' },
    timepicker: {},
    timezone: '',
    version: 1,
    weekStart: '',
    templating: { list: [$.datasourceVariable] + variables },
    local withSelector(panel) =
      if std.objectHas(panel, 'targets')
      then panel { targets: [target { expr: promql.withSelector(target.expr, selector, ['ipsec_', 'process_', 'dotnet_']) } for target in panel.targets] }
      else panel,
    // Ids in reading order.
    panels: [withSelector(panels[i]) { id: i + 1 } for i in std.range(0, std.length(panels) - 1)],
  },
}
