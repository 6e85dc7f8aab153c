using System.Text.Json;
using IpsecExporter.Sources.Vici;

namespace IpsecExporter.Sources.PfSense;

/// <summary>
/// Reads pfSense REST API v2 answers and maps them onto the source-neutral model. Shapes, from pfrest/pfSense-pkg-RESTAPI:
/// every answer is the envelope <c>{"code":200,"status":"ok","response_id":"SUCCESS","message":"","data":...}</c>;
/// <c>status/services</c> lists <c>{"name","description","enabled","status"}</c> per service, <c>status</c> true while it
/// runs (Models/Service.inc); <c>status/ipsec/sas</c> lists charon's IKE SAs as <c>ipsec_list_sa()</c> returns them,
/// VICI's keys written with underscores (<c>con_id</c>, <c>uniqueid</c>, <c>state</c>, <c>local_host</c>,
/// <c>remote_host</c>, <c>initiator_spi</c>/<c>responder_spi</c>, <c>established</c>, <c>rekey_time</c>,
/// <c>child_sas</c>), integers as numbers and absent strings as <c>""</c>; each of <c>child_sas</c> has <c>name</c>,
/// <c>uniqueid</c>, <c>state</c>, <c>spi_in</c>/<c>spi_out</c>, <c>bytes_in</c>/<c>_out</c>,
/// <c>packets_in</c>/<c>_out</c>, <c>use_in</c>/<c>_out</c>, <c>rekey_time</c>, <c>life_time</c>,
/// <c>install_time</c>, <c>dh_group</c> and the lists <c>local_ts</c>/<c>remote_ts</c>
/// (Models/IPsecSAStatus.inc, Models/IPsecChildSAStatus.inc). The models default an absent integer to 0, so a 0
/// <c>use_in</c>/<c>use_out</c> (no packet yet) or <c>rekey_time</c> (rekeying disabled) is taken as absent.
/// </summary>
public static class PfSenseSaMapper
{
    /// <summary>pfSense's name for its strongSwan service.</summary>
    public const string IpsecService = "ipsec";

    private static readonly HashSet<string> ZeroMeansAbsent = new(StringComparer.Ordinal) { "use-in", "use-out", "rekey-time" };

    /// <exception cref="IOException">The IPsec service is absent (IPsec disabled) or not running: its SAs cannot be read.</exception>
    public static void EnsureRunning(JsonElement answer)
    {
        var service = Data(answer, PfSenseSaSource.ServicesPath).FirstOrDefault(s => Text(s, "name") == IpsecService);
        if (service.ValueKind == JsonValueKind.Undefined)
        {
            throw new IOException($"pfSense lists no '{IpsecService}' service ({PfSenseSaSource.ServicesPath}): IPsec is disabled, so its SAs cannot be read");
        }

        if (!(service.TryGetProperty("status", out var running) && running.ValueKind == JsonValueKind.True))
        {
            throw new IOException($"pfSense reports the '{IpsecService}' service as not running ({PfSenseSaSource.ServicesPath}): its SAs cannot be read until it runs");
        }
    }

    /// <summary>One IKE SA per entry, named by its <c>con_id</c> (pfSense's <c>con&lt;ikeid&gt;</c>), mapped as for <c>vici</c>.</summary>
    /// <exception cref="ViciProtocolException">An SA lacks its unique id, or a counter or time is not a number.</exception>
    public static List<IkeSa> Map(JsonElement answer) => Data(answer, PfSenseSaSource.SasPath).Select(entry =>
    {
        var section = ViciJson.ToSection(entry, key => key.Replace('_', '-'), ZeroMeansAbsent);
        var connection = section.Value("con-id") ?? throw new InvalidDataException($"pfSense listed an IKE SA without a con_id ({PfSenseSaSource.SasPath})");
        return ViciSaMapper.MapIkeSa(connection, section);
    }).ToList();

    /// <summary>The envelope's <c>data</c> list; an envelope reporting an error names pfSense's code and message.</summary>
    private static List<JsonElement> Data(JsonElement answer, string what)
    {
        if (answer.ValueKind != JsonValueKind.Object || !answer.TryGetProperty("data", out var data))
        {
            throw new InvalidDataException($"pfSense's {what} answer is not a REST API v2 envelope (no data)");
        }

        if (Text(answer, "status") is { } status && status != "ok")
        {
            throw new IOException($"pfSense answered {what} with status '{status}' ({Text(answer, "response_id")}: {Text(answer, "message")})");
        }

        return data.ValueKind == JsonValueKind.Array && data.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Object)
            ? data.EnumerateArray().ToList()
            : throw new InvalidDataException($"pfSense's {what} answer holds no list of objects in data");
    }

    private static string? Text(JsonElement element, string key) =>
        element.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
