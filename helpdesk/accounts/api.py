"""`POST /api/auth/token/`: exchange username + password for an API token (scripts, the PBX
import job). Tokens are django-rest-knox tokens: only a digest is stored, each expires
(API_TOKEN_TTL_DAYS, 30 by default), and a password change or deactivation revokes them
(helpdesk/services/tokens.py). Issuing a token is audit-logged as a login."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from helpdesk.accounts.tokens import api_token_issue


class TokenThrottle(AnonRateThrottle):
    rate = "30/minute"


class ObtainTokenView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]

    @extend_schema(
        summary="APIトークンを取得",
        description=(
            "ユーザー名とパスワードからAPIトークンを発行します。`Authorization: Token <token>` で使います。"
            "トークンは `expiry` に失効し、パスワード変更・利用停止で無効になります。"
        ),
        request=AuthTokenSerializer,
        responses={
            200: inline_serializer(
                "TokenResponse", {"token": serializers.CharField(), "expiry": serializers.DateTimeField()}
            )
        },
        auth=[],
    )
    def post(self, request):
        # DRF's AuthTokenSerializer only checks the credentials (through django-axes'
        # backend); it does not touch DRF's own token table.
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            # django-axes marks the request it was given (this DRF request, which its
            # middleware never sees) when the user is locked out: say so, as the pages do.
            if getattr(request, "axes_locked_out", False):
                raise Throttled(detail="パスワードの誤りが続いたため、しばらくログインできません。")
            raise ValidationError(serializer.errors)
        key, token = api_token_issue(user=serializer.validated_data["user"])
        return Response({"token": key, "expiry": serializers.DateTimeField().to_representation(token.expiry)})
