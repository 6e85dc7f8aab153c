using System.Text.RegularExpressions;
using CsCheck;
using IpsecExporter.Sources;
using IpsecExporter.Sources.Vici;
using IpsecExporter.Tests.Sources.Http;
using IpsecExporter.Tests.Sources.MikroTik;
using IpsecExporter.Tests.Sources.OpnSense;
using IpsecExporter.Tests.Sources.PanOs;
using IpsecExporter.Tests.Sources.PfSense;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace IpsecExporter.Tests.Sources;

/// <summary>
/// A bounded fuzzing campaign over every vendor payload parser, through the real source on the WireMock API: each
/// input is a golden answer with one answer mutated (cut, bytes flipped, a slice repeated, a value replaced by an
/// extreme or wrongly typed one). Only the typed source errors may come out (IOException for refusals and broken
/// answers, InvalidDataException for answers that are not the vendor's data, ViciProtocolException for charon's data
/// inside OPNsense's and pfSense's answers); what does parse must go through the value guard and the tunnel model
/// without an exception. <c>VENDOR_FUZZ_ITERATIONS</c> runs a longer campaign.
/// </summary>
[Trait("Needs", "daemon")]
public sealed partial class VendorPayloadFuzzTests
{
    private static readonly int Iterations = int.TryParse(Environment.GetEnvironmentVariable("VENDOR_FUZZ_ITERATIONS"), out var n) ? n : 150;

    /// <summary>Values a firewall (or what stands between) might put where a well-formed one belongs.</summary>
    private static readonly string[] Hostile =
        ["-1", "0", "18446744073709551616", "99999999999999999999999999", "1e309", "1.5", "-9223372036854775809", "\"\"", "\"x\"", "null", "true", "[]", "{}", "\"0x\"", "\"-5s\"", "\"\\u0000\""];

    public static TheoryData<string> Vendors() => ["fortigate", "mikrotik", "opnsense", "panos", "pfsense"];

    [Theory]
    [MemberData(nameof(Vendors))]
    public void Mutated_answers_fail_only_with_typed_errors_and_what_parses_reaches_the_model(string vendor)
    {
        var steps = Steps(vendor);
        Assert.NotEmpty(steps);
        var variables = new Dictionary<string, string>();
        foreach (var name in new[] { "token", "api_key", "api_secret", "password" })
        {
            variables[name] = $"IPSEC_TEST_FUZZ_{vendor.ToUpperInvariant()}_{name.ToUpperInvariant()}";
            Environment.SetEnvironmentVariable(variables[name], "fuzz-secret");
        }

        using var mock = VendorApiMock.StartHttp();
        using var directory = new TempDirectory();
        var yaml = File.ReadAllText(Fixtures.Path(vendor, "config.yaml")).Replace("{{url}}", mock.Url.ToString(), StringComparison.Ordinal);
        foreach (var (name, variable) in variables)
        {
            yaml = yaml.Replace($"{{{{secret:{name}}}}}", variable, StringComparison.Ordinal);
        }

        using var harness = new TrackerHarness(yaml);
        using var services = new ServiceCollection().AddLogging().AddSingleton(TimeProvider.System).AddSaSourceTypes().BuildServiceProvider();
        var sourceConfig = harness.Store.Current.Sources.Single();
        var type = services.GetRequiredService<SaSourceRegistry>().Find(sourceConfig.Type)!;
        var guard = new SaValueGuard();
        var contentType = vendor == "panos" ? "application/xml" : "application/json";

        var seeds = steps.SelectMany(step => step.Keys.Select(path => (Step: step, Path: path))).ToArray();
        Gen.Select(Gen.Int[0, seeds.Length - 1], Mutations(), (seed, mutate) => (seed, mutate)).Sample(input =>
        {
            var (step, path) = seeds[input.seed];
            mock.Reset();
            foreach (var (answerPath, body) in step)
            {
                mock.Serve(answerPath, answerPath == path ? input.mutate(body) : body, contentType);
            }

            var collect = Task.Run(async () =>
            {
                await using var source = type.Create(sourceConfig, services);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try
                {
                    var snapshot = await source.CollectAsync(timeout.Token);
                    harness.Collect(guard.Sanitize(snapshot, _ => { }), sourceConfig.Name);
                }
                catch (Exception e) when (e is IOException or InvalidDataException or ViciProtocolException)
                {
                    // The typed outcomes: the source goes down for this collection with a message.
                }
            });
            Assert.True(collect.Wait(TimeSpan.FromSeconds(20)), "the collection hung");
            collect.GetAwaiter().GetResult();
        }, iter: Iterations, threads: 1);
    }

    /// <summary>Every recorded step of the vendor's golden scenarios: API path to body.</summary>
    private static List<Dictionary<string, string>> Steps(string vendor)
    {
        Func<IEnumerable<string>, Dictionary<string, string>> answers = vendor switch
        {
            "fortigate" => files => files.ToDictionary(_ => "/api/v2/monitor/vpn/ipsec", File.ReadAllText),
            "mikrotik" => MikroTikGoldenTests.Answers,
            "opnsense" => OpnSenseGoldenTests.Answers,
            "panos" => PanOsGoldenTests.Answers,
            _ => PfSenseGoldenTests.Answers,
        };
        return Directory.GetDirectories(Fixtures.Path(vendor))
            .Where(scenario => !File.Exists(Path.Combine(scenario, "config.yaml")))
            .SelectMany(scenario => Directory.GetFiles(scenario).Where(f => StepFile().IsMatch(Path.GetFileName(f))).GroupBy(f => Path.GetFileName(f)[..2]))
            .Select(step => answers(step.Order(StringComparer.Ordinal)))
            .ToList();
    }

    /// <summary>A few edits to a text: cuts, flipped or inserted characters, repeated slices, a value replaced by a hostile one.</summary>
    private static Gen<Func<string, string>> Mutations() =>
        Gen.Select(Gen.Int[0, 5], Gen.Double[0, 1], Gen.Double[0, 1], Gen.Int[0, Hostile.Length - 1]).Array[1, 4].Select(edits => (Func<string, string>)(text =>
        {
            foreach (var (kind, where, size, pick) in edits)
            {
                var at = Math.Min((int)(where * text.Length), Math.Max(text.Length - 1, 0));
                var length = (int)(size * Math.Min(40, text.Length - at));
                text = kind switch
                {
                    0 when text.Length > 0 => text.Remove(at, 1).Insert(at, ((char)(text[at] ^ (1 << (pick % 7)))).ToString()),
                    1 => text.Remove(at, length),
                    2 => text.Insert(at, text.Substring(at, length)),
                    3 => text[..at],
                    _ => ReplaceValue(text, where, Hostile[pick]),
                };
            }

            return text;
        }));

    /// <summary>Replaces the value (a number, a quoted string, true/false/null, or an XML text) found nearest to a relative position.</summary>
    private static string ReplaceValue(string text, double where, string hostile)
    {
        var values = Value().Matches(text);
        if (values.Count == 0)
        {
            return text;
        }

        var value = values[Math.Min((int)(where * values.Count), values.Count - 1)];
        var group = value.Groups["xml"].Success ? value.Groups["xml"] : value.Groups["json"];
        var replacement = value.Groups["xml"].Success ? hostile.Trim('"') : hostile;
        return text[..group.Index] + replacement + text[(group.Index + group.Length)..];
    }

    [GeneratedRegex(@"^\d\d\.")]
    private static partial Regex StepFile();

    [GeneratedRegex(@"(?<=[:\[,]\s*)(?<json>-?\d[\d.eE+-]*|""(?:[^""\\]|\\.)*""|true|false|null)|>(?<xml>[^<>]+)</")]
    private static partial Regex Value();
}
