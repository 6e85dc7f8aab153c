// PromQL text helpers shared by the rules and the dashboards.
local wordChars = std.stringChars('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:');
local isWordChar(c) = std.member(wordChars, c);

// `selector` added to every series named prefix... in expr (see withSelector).
local withSelectorFor(expr, selector, prefix) =
  // std.split of jsonnet 0.18 takes one character: mark each prefix with one that PromQL text never holds.
  local parts = std.split(std.strReplace(expr, prefix, '\u0000'), '\u0000');
  local extend(previous, part) =
    local standalone = previous == '' || !isWordChar(previous[std.length(previous) - 1]);
    local nameEnd = std.foldl(function(end, i) if end == -1 && !isWordChar(part[i]) then i else end,
                              std.range(0, std.length(part) - 1),
                              -1);
    local nameLength = if nameEnd == -1 then std.length(part) else nameEnd;
    local name = prefix + std.substr(part, 0, nameLength);
    local rest = std.substr(part, nameLength, std.length(part) - nameLength);
    if !standalone then prefix + part
    else if std.startsWith(rest, '{}') then name + '{' + selector + '}' + std.substr(rest, 2, std.length(rest) - 2)
    else if std.startsWith(rest, '{') then name + '{' + selector + ', ' + std.substr(rest, 1, std.length(rest) - 1)
    else name + '{' + selector + '}' + rest;
  parts[0] + std.join('', [extend(parts[i - 1], parts[i]) for i in std.range(1, std.length(parts) - 1)]);

{
  // A number as PromQL text: 0.05, not the 0.050000000000000003 of std.toString.
  number(value):: '%g' % value,

  // Adds `selector` (label matchers such as 'job="x"') to every series of `expr` whose name starts with one of
  // `prefixes`: before the series' own matchers, or as its only ones. Names that merely contain a prefix (recording
  // rules such as tunnel_pair:ipsec_...) are left alone. So expressions stay plain PromQL while one configured
  // selector reaches all of them.
  withSelector(expr, selector, prefixes=['ipsec_'])::
    if selector == '' then expr
    else std.foldl(function(out, prefix) withSelectorFor(out, selector, prefix), prefixes, expr),
}
