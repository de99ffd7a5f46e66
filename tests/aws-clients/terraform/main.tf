# Acceptance 5 of issue 13: Terraform's AWS provider against iamd's front door (see ./run). No skip_* settings,
# so the provider validates the credentials with sts:GetCallerIdentity and finds the account id itself.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "endpoint" { type = string }
variable "ca_bundle" { type = string }

provider "aws" {
  region           = "us-east-1"
  custom_ca_bundle = var.ca_bundle
  endpoints {
    iam = var.endpoint
    sts = var.endpoint
  }
}

data "aws_caller_identity" "me" {}

resource "aws_iam_user" "alice" {
  name = "tf-alice"
  path = "/team/"
  tags = { team = "api" }
}

resource "aws_iam_user_policy" "alice_inline" {
  name = "read-photos"
  user = aws_iam_user.alice.name
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "arn:aws:s3:::photos/*" }]
  })
}

resource "aws_iam_policy" "pets" {
  name        = "tf-pets"
  description = "API Gateway pets"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "ManageApis", Effect = "Allow", Action = ["apigateway:GET", "apigateway:POST"], Resource = "arn:aws:apigateway:us-east-1::/restapis/*" },
      { Sid = "InvokePets", Effect = "Allow", Action = "execute-api:Invoke", Resource = "arn:aws:execute-api:us-east-1:${data.aws_caller_identity.me.account_id}:abc123/prod/GET/pets" },
    ]
  })
  tags = { owner = "tf" }
}

resource "aws_iam_user_policy_attachment" "alice_pets" {
  user       = aws_iam_user.alice.name
  policy_arn = aws_iam_policy.pets.arn
}

resource "aws_iam_role" "apigw" {
  name = "tf-apigw-logs"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
      # A value with '+': it must survive the form encoding in and the URL encoding out, or every plan differs.
      Condition = { StringLike = { "sts:RoleSessionName" = "deploy+ci*" } }
    }]
  })
  max_session_duration = 7200
  tags                 = { purpose = "logging" }
}

resource "aws_iam_role_policy_attachment" "apigw_logs" {
  role       = aws_iam_role.apigw.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_iam_role_policy" "apigw_inline" {
  name = "extra"
  role = aws_iam_role.apigw.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "logs:DescribeLogGroups", Resource = "*" }]
  })
}

resource "aws_iam_group" "readers" {
  name = "tf-pet-readers"
}

resource "aws_iam_group_policy_attachment" "readers_pets" {
  group      = aws_iam_group.readers.name
  policy_arn = aws_iam_policy.pets.arn
}

resource "aws_iam_user_group_membership" "alice_readers" {
  user   = aws_iam_user.alice.name
  groups = [aws_iam_group.readers.name]
}

resource "aws_iam_access_key" "alice" {
  user = aws_iam_user.alice.name
}

output "account_id" { value = data.aws_caller_identity.me.account_id }
output "access_key_id" { value = aws_iam_access_key.alice.id }
