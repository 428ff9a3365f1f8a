/* logtype_builtin.c — the built-in log types, written in the JSON a program
 * defines its own with (logtype_json.c; docs/log-types.md has the table).
 *
 * Where the facts come from: the vendors' documented schemas (CloudTrail
 * record contents, GuardDuty's finding format, Cloud Logging's LogEntry and
 * Cloud Audit Logs' AuditLog, the Admin SDK Reports API's Activity, Okta's
 * System Log LogEvent, CrowdStrike's Falcon Data Replicator and Streaming
 * API events) and the real events in shared/data that the unit tests read.
 *
 * Known fields list what the schema names, with ".*" where the vendor puts
 * free-form data (an API's request parameters, debug data, the finding's
 * service details): a rule's path below those is never called unknown.
 * CrowdStrike has none: an FDR record's fields depend on its
 * event_simpleName (hundreds of them), so no list can say a path is wrong.
 * Every type knows the members the envelopes add (_eventbridge,
 * _cloudwatch, _pubsub).
 */
#include <stddef.h>

#include "event/logtype.h"

#define ENVELOPES "\"._eventbridge.*\", \"._cloudwatch.*\", \"._pubsub.*\""

static const char cloudtrail[] =
    "{\"name\": \"cloudtrail\","
    " \"detect\": [{\"exists\": [\".eventVersion\", \".eventTime\"]},"
    "              {\"exists\": [\".eventSource\", \".eventName\", \".awsRegion\"]}],"
    " \"fields\": {\"time\": \".eventTime\", \"id\": \".eventID\", \"ip\": \".sourceIPAddress\","
    "   \"user\": [\".userIdentity.arn\", \".userIdentity.principalId\"],"
    "   \"account\": [\".recipientAccountId\", \".userIdentity.accountId\"], \"action\": \".eventName\","
    "   \"outcome\": [\".errorCode\", \".responseElements.ConsoleLogin\"]},"
    " \"known_fields\": [\".eventVersion\", \".eventTime\", \".eventSource\", \".eventName\", \".awsRegion\","
    "   \".sourceIPAddress\", \".userAgent\", \".errorCode\", \".errorMessage\", \".requestParameters.*\","
    "   \".responseElements.*\", \".additionalEventData.*\", \".requestID\", \".eventID\", \".eventType\","
    "   \".apiVersion\", \".managementEvent\", \".readOnly\", \".resources[*].ARN\", \".resources[*].accountId\","
    "   \".resources[*].type\", \".recipientAccountId\", \".serviceEventDetails.*\", \".sharedEventID\","
    "   \".vpcEndpointId\", \".vpcEndpointAccountId\", \".eventCategory\", \".sessionCredentialFromConsole\","
    "   \".edgeDeviceDetails.*\", \".insightDetails.*\", \".addendum.reason\", \".addendum.updatedFields\","
    "   \".addendum.originalRequestID\", \".addendum.originalEventID\", \".tlsDetails.tlsVersion\","
    "   \".tlsDetails.cipherSuite\", \".tlsDetails.clientProvidedHostHeader\", \".userIdentity.type\","
    "   \".userIdentity.principalId\", \".userIdentity.arn\", \".userIdentity.accountId\","
    "   \".userIdentity.accessKeyId\", \".userIdentity.userName\", \".userIdentity.invokedBy\","
    "   \".userIdentity.identityProvider\", \".userIdentity.credentialId\", \".userIdentity.onBehalfOf.*\","
    "   \".userIdentity.sessionContext.attributes.creationDate\","
    "   \".userIdentity.sessionContext.attributes.mfaAuthenticated\","
    "   \".userIdentity.sessionContext.sessionIssuer.type\", "
    "\".userIdentity.sessionContext.sessionIssuer.principalId\","
    "   \".userIdentity.sessionContext.sessionIssuer.arn\", \".userIdentity.sessionContext.sessionIssuer.accountId\","
    "   \".userIdentity.sessionContext.sessionIssuer.userName\", "
    "\".userIdentity.sessionContext.webIdFederationData.*\","
    "   \".userIdentity.sessionContext.sourceIdentity\", \".userIdentity.sessionContext.ec2RoleDelivery\","
    "   \".userIdentity.sessionContext.assumedRoot\", \".userIdentity.inScopeOf.*\", " ENVELOPES "]}";

static const char guardduty[] =
    "{\"name\": \"guardduty\","
    " \"detect\": [{\"exists\": [\".schemaVersion\", \".service\"]}],"
    " \"fields\": {\"time\": \".updatedAt\", \"id\": \".id\","
    "   \"ip\": [\".service.action.awsApiCallAction.remoteIpDetails.ipAddressV4\","
    "          \".service.action.networkConnectionAction.remoteIpDetails.ipAddressV4\","
    "          \".service.action.kubernetesApiCallAction.remoteIpDetails.ipAddressV4\","
    "          \".service.action.rdsLoginAttemptAction.remoteIpDetails.ipAddressV4\","
    "          \".service.action.portProbeAction.portProbeDetails[0].remoteIpDetails.ipAddressV4\"],"
    "   \"user\": [\".resource.accessKeyDetails.userName\", \".resource.accessKeyDetails.principalId\"],"
    "   \"account\": \".accountId\", \"action\": \".type\"},"
    " \"known_fields\": [\".schemaVersion\", \".accountId\", \".region\", \".partition\", \".id\", \".arn\","
    "   \".type\", \".resource.*\", \".service.*\", \".severity\", \".confidence\", \".createdAt\", \".updatedAt\","
    "   \".title\", \".description\", \".associatedAttackSequenceArn\", " ENVELOPES "]}";

static const char gcp_audit[] =
    "{\"name\": \"gcp-audit\","
    " \"detect\": [{\"exists\": [\".protoPayload\"]}],"
    " \"fields\": {\"time\": [\".timestamp\", \".receiveTimestamp\"], \"id\": \".insertId\","
    "   \"ip\": \".protoPayload.requestMetadata.callerIp\","
    "   \"user\": \".protoPayload.authenticationInfo.principalEmail\", \"account\": \".resource.labels.project_id\","
    "   \"action\": \".protoPayload.methodName\", \"outcome\": \".protoPayload.status.code\"},"
    " \"known_fields\": [\".logName\", \".resource.type\", \".resource.labels.*\", \".timestamp\","
    "   \".receiveTimestamp\", \".severity\", \".insertId\", \".httpRequest.*\", \".labels.*\", \".operation.id\","
    "   \".operation.producer\", \".operation.first\", \".operation.last\", \".trace\", \".spanId\","
    "   \".traceSampled\", \".sourceLocation.*\", \".split.*\", \".errorGroups.*\", \".apphub.*\","
    "   \".protoPayload.\\\"@type\\\"\", \".protoPayload.serviceName\", \".protoPayload.methodName\","
    "   \".protoPayload.resourceName\", \".protoPayload.resourceLocation.*\", "
    "\".protoPayload.resourceOriginalState.*\","
    "   \".protoPayload.numResponseItems\", \".protoPayload.status.code\", \".protoPayload.status.message\","
    "   \".protoPayload.status.details.*\", \".protoPayload.authenticationInfo.*\","
    "   \".protoPayload.authorizationInfo[*].*\", \".protoPayload.policyViolationInfo.*\","
    "   \".protoPayload.requestMetadata.*\", \".protoPayload.request.*\", \".protoPayload.response.*\","
    "   \".protoPayload.metadata.*\", \".protoPayload.serviceData.*\", " ENVELOPES "]}";

static const char gworkspace[] =
    "{\"name\": \"gworkspace\","
    " \"detect\": [{\"equals\": {\".kind\": \"admin#reports#activity\"}},"
    "              {\"exists\": [\".id.applicationName\", \".id.time\", \".actor\"]}],"
    " \"fields\": {\"time\": \".id.time\", \"id\": \".id.uniqueQualifier\", \"ip\": \".ipAddress\","
    "   \"user\": [\".actor.email\", \".actor.profileId\"], \"account\": \".id.customerId\", \"action\": \".name\"},"
    " \"known_fields\": [\".kind\", \".etag\", \".id.time\", \".id.uniqueQualifier\", \".id.applicationName\","
    "   \".id.customerId\", \".actor.callerType\", \".actor.email\", \".actor.profileId\", \".actor.key\","
    "   \".actor.applicationInfo.*\", \".ownerDomain\", \".ipAddress\", \".networkInfo.*\","
    "   \".resourceDetails.*\", \".type\", \".name\", \".parameters.*\", " ENVELOPES "]}";

static const char okta[] =
    "{\"name\": \"okta\","
    " \"detect\": [{\"exists\": [\".eventType\", \".published\", \".actor\"]}],"
    " \"fields\": {\"time\": \".published\", \"id\": \".uuid\","
    "   \"ip\": [\".client.ipAddress\", \".request.ipChain[0].ip\"], \"user\": \".actor.alternateId\","
    "   \"action\": \".eventType\", \"outcome\": \".outcome.result\"},"
    " \"known_fields\": [\".uuid\", \".published\", \".eventType\", \".version\", \".severity\","
    "   \".legacyEventType\", \".displayMessage\", \".actor.id\", \".actor.type\", \".actor.alternateId\","
    "   \".actor.displayName\", \".actor.detailEntry.*\", \".client.userAgent.rawUserAgent\","
    "   \".client.userAgent.os\", \".client.userAgent.browser\", \".client.zone\", \".client.device\","
    "   \".client.id\", \".client.ipAddress\", \".client.geographicalContext.*\", \".device.*\","
    "   \".outcome.result\", \".outcome.reason\", \".target[*].id\", \".target[*].type\","
    "   \".target[*].alternateId\", \".target[*].displayName\", \".target[*].detailEntry.*\","
    "   \".target[*].changeDetails.*\", \".transaction.type\", \".transaction.id\", \".transaction.detail.*\","
    "   \".debugContext.debugData.*\", \".authenticationContext.authenticationProvider\","
    "   \".authenticationContext.credentialProvider\", \".authenticationContext.credentialType\","
    "   \".authenticationContext.issuer.*\", \".authenticationContext.externalSessionId\","
    "   \".authenticationContext.interface\", \".authenticationContext.authenticationStep\","
    "   \".authenticationContext.rootSessionId\", \".securityContext.asNumber\", \".securityContext.asOrg\","
    "   \".securityContext.isp\", \".securityContext.domain\", \".securityContext.isProxy\","
    "   \".request.ipChain[*].ip\", \".request.ipChain[*].version\", \".request.ipChain[*].source\","
    "   \".request.ipChain[*].geographicalContext.*\", " ENVELOPES "]}";

static const char crowdstrike[] =
    "{\"name\": \"crowdstrike\","
    " \"detect\": [{\"exists\": [\".event_simpleName\"]}, {\"exists\": [\".metadata.eventType\", "
    "\".metadata.customerIDString\"]},"
    "              {\"exists\": [\".fdr_event_type\"]}, {\"exists\": [\".ExternalApiType\", \".cid\"]}],"
    " \"fields\": {\"time\": [\".timestamp\", \".event.timestamp\", \".metadata.eventCreationTime\"],"
    "   \"id\": [\".id\", \".event.id\", \".EventUUID\"],"
    "   \"ip\": [\".event.UserIp\", \".aip\", \".event.aip\", \".event.LocalIP\", \".LocalIP\"],"
    "   \"user\": [\".UserName\", \".event.UserName\", \".event.UserId\"],"
    "   \"account\": [\".cid\", \".event.cid\", \".metadata.customerIDString\", \".CustomerIdString\"],"
    "   \"action\": [\".event_simpleName\", \".event.event_simpleName\", \".event.OperationName\","
    "              \".metadata.eventType\", \".EventType\", \".ExternalApiType\"],"
    "   \"outcome\": \".event.Success\"}}";

/* JSON lines without a profile: nothing known; the time is the format's. */
static const char jsonl[] = "{\"name\": \"jsonl\"}";

/* In detection order. */
const char *const sd_logtype_builtin_json[] = {cloudtrail, guardduty,   gcp_audit, gworkspace,
                                               okta,       crowdstrike, jsonl,     NULL};
